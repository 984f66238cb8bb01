import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Messages } from '../errors/error-messages.js';

/** The part of a webpack configuration this helper reads and changes. */
export interface WebpackConfigLike {
  entry?: unknown;
  context?: string;
  output?: { filename?: unknown; [key: string]: unknown };
  [key: string]: unknown;
}

/** What the configuration looks like once the tasks entries are in. */
export interface WithTasksEntries {
  entry: Record<string, unknown>;
  output: { filename: string; [key: string]: unknown };
}

const TASKS_FILE = /\.tasks\.[cm]?ts$/;

/**
 * For the Nest CLI's bundler hook, `webpack.config.js` (CommonJS apps) or
 * `rspack.config.js` (ES module apps, whose CLI bundles with rspack):
 *
 *     const { withTasksEntries } = require('nestjs-worker/webpack');
 *     module.exports = (options) => withTasksEntries(options);
 *
 * Worker threads load the tasks module from a file, and a bundle has no such
 * file: each tasks file becomes a bundle entry of its own, emitted in the
 * bundle's module format with its exports intact, at the path tsc would give
 * it relative to `main.js`. So `join(__dirname, 'hash/hash.tasks.js')` or
 * `new URL('./hash/hash.tasks.js', import.meta.url)`, written in a file at
 * the source root (`app.module.ts`), names the same file after `nest build`
 * with tsc and with the bundler.
 *
 * `files` are paths relative to the folder of the main entry (the app's
 * `sourceRoot`); by default every `*.tasks.ts` file below it.
 */
export function withTasksEntries<T extends WebpackConfigLike>(
  options: T,
  files?: readonly string[],
): Omit<T, 'entry' | 'output'> & WithTasksEntries {
  const main = mainEntryOf(options);
  const sourceRoot = dirname(main.file);
  const outputFile = typeof options.output?.filename === 'string' ? options.output.filename : 'main.js';
  const tasksFiles = files ? files.map((file) => resolve(sourceRoot, file)) : findTasksFiles(sourceRoot);
  const esm = isModuleOutput(options);
  const entry: Record<string, unknown> = { [basename(outputFile).replace(/\.js$/, '')]: main.entry };
  for (const file of tasksFiles) {
    const name = relative(sourceRoot, file).replace(/\.[cm]?ts$/, '');
    if (!existsSync(file) || name.startsWith('..') || isAbsolute(name)) {
      throw new Error(Messages.webpackTasksFile(file, sourceRoot));
    }
    entry[name.split(sep).join('/')] = { import: file, library: { type: esm ? 'module' : 'commonjs2' } };
  }
  return {
    ...options,
    ...(esm ? { module: keepImportMetaUrl(options.module) } : {}),
    entry,
    output: { ...options.output, filename: join(dirname(outputFile), '[name].js').split(sep).join('/') },
  };
}

function isModuleOutput(options: WebpackConfigLike): boolean {
  const library = options.output?.library as { type?: unknown } | undefined;
  return options.output?.module === true || library?.type === 'module';
}

/**
 * A bundler reads `new URL('./x.js', import.meta.url)` as an asset to emit,
 * and `import.meta.url` as the source file's URL. Here it must stay what it
 * is at run time, the URL of the bundle, so that it finds the tasks entry
 * emitted next to it.
 */
function keepImportMetaUrl(module: unknown): Record<string, unknown> {
  const current = (module ?? {}) as { parser?: { javascript?: Record<string, unknown> } };
  return {
    ...current,
    parser: { ...current.parser, javascript: { ...current.parser?.javascript, url: false, importMeta: false } },
  };
}

function mainEntryOf(options: WebpackConfigLike): { file: string; entry: unknown } {
  const entry = options.entry;
  const first = typeof entry === 'string' ? entry : Array.isArray(entry) ? entry.at(-1) : undefined;
  if (typeof first !== 'string') throw new Error(Messages.webpackEntry(JSON.stringify(entry)));
  return { file: resolve(options.context ?? process.cwd(), first), entry };
}

function findTasksFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((item) => {
    const path = join(dir, item.name);
    if (item.isDirectory()) return item.name === 'node_modules' ? [] : findTasksFiles(path);
    return TASKS_FILE.test(item.name) ? [path] : [];
  });
}
