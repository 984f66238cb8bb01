/**
 * `nestjs-worker/testing`: tools for testing with nestjs-worker. The
 * TaskClient conformance suite checks a task client (one of the package's,
 * or your own) against the contract the worker loop and producers rely on,
 * under any test runner.
 */
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
