/**
 * `nestjs-worker/testing`: tools for testing with nestjs-worker. The
 * in-process pool runs an application's tasks without worker threads, on its
 * own providers, so that mocks, spies and coverage reach the handlers. The
 * TaskClient conformance suite checks a task client (one of the package's,
 * or your own) against the contract the worker loop and producers rely on,
 * under any test runner.
 */
export { WorkerTesting } from './testing/in-process/worker-testing.js';
export { WORKER_POOL } from './pool/task-pool.factory.js';
export type { InProcessOptions } from './testing/in-process/in-process-options.interface.js';
export type { TaskPoolFactory } from './pool/task-pool.factory.js';
export { taskClientConformance, CONFORMANCE_GROUPS } from './testing/conformance/task-client.conformance.js';
export type {
  TaskClientConformanceOptions,
  ConformanceQueue,
  ConformanceClient,
  ConformanceFeatures,
  SuiteFunction,
  TestFunction,
} from './testing/conformance/conformance-options.interface.js';
export type {
  ConformanceCase,
  ConformanceGroup,
  ConformanceFeature,
} from './testing/conformance/conformance-case.interface.js';
export type { ConformanceContext } from './testing/conformance/conformance.context.js';
