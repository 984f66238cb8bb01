/**
 * `nestjs-worker/terminus`: a health indicator for `@nestjs/terminus` (an
 * optional peer, 11 or 12). Provide `WorkerHealthIndicator` in a module that
 * imports `TerminusModule`.
 */
export { WorkerHealthIndicator } from './terminus/worker-health.indicator.js';
export type { WorkerHealthOptions } from './terminus/worker-health-options.interface.js';
