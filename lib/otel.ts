/**
 * `nestjs-worker/otel`: OpenTelemetry tracing and metrics for the worker
 * pool, through `@opentelemetry/api` (an optional peer) only. A span per
 * task attempt, child of the context that called `run()` or `enqueue()`
 * (the trace context is stored with the task, so it crosses processes
 * through PostgreSQL and Redis), with the handlers' own spans in the worker
 * threads as its children; metrics after OpenTelemetry's messaging semantic
 * conventions. Nothing is measured while no provider is registered.
 */
export { WorkerTelemetryModule } from './otel/worker-telemetry.module.js';
export { WorkerTelemetry } from './otel/worker-telemetry.js';
export {
  WORKER_TELEMETRY_OPTIONS,
  WORKER_THREAD_TELEMETRY_OPTIONS,
} from './otel/worker-telemetry-options.interface.js';
export type {
  WorkerTelemetryOptions,
  WorkerThreadTelemetryOptions,
} from './otel/worker-telemetry-options.interface.js';
export { propagateTraceContextOnEnqueue, runHandlersInTraceContext } from './otel/trace-context.propagation.js';
export { formatTraceContext, parseTraceContext } from './otel/trace-context.codec.js';
export { ATTR as WORKER_SPAN_ATTRIBUTES, METRIC as WORKER_METRICS } from './otel/telemetry.names.js';
