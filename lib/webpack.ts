/**
 * `nestjs-worker/webpack`: emits tasks modules next to a webpack bundle
 * (`nest build --webpack`, Nest monorepos), for the worker threads to load.
 * Runs in the build, not in the app; needs no webpack import of its own.
 */
export { withTasksEntries } from './bundling/webpack.tasks-entries.js';
export type { WebpackConfigLike, WithTasksEntries } from './bundling/webpack.tasks-entries.js';
