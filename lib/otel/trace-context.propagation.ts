import { context, trace } from '@opentelemetry/api';
import { registerTraceContextHooks } from '../common/trace-context.hooks.js';
import { formatTraceContext, parseTraceContext } from './trace-context.codec.js';

/**
 * Stores the active trace context with every task this process enqueues,
 * on any task client (in memory, PostgreSQL, Redis): the attempts that run
 * it, in whichever process, are children of it. `WorkerTelemetryModule`
 * calls it; a producer without Nest (a script, another service enqueueing
 * into the same PostgreSQL table) calls it once itself. Returns a function
 * that stops it.
 */
export function propagateTraceContextOnEnqueue(): () => void {
  return registerTraceContextHooks({
    capture: () => {
      const span = trace.getSpan(context.active());
      return span ? formatTraceContext(span.spanContext()) : undefined;
    },
  });
}

/**
 * In a worker thread: runs each handler inside the context of its
 * attempt's span, which lives in the main thread and reaches the thread
 * with the call (see DispatchRequest.tc). The spans a handler opens are then
 * children of it, provided the thread registered a context manager (its
 * async work keeps the context) and a tracer provider (see
 * `WorkerTelemetryModule.forThreads()`).
 */
export function runHandlersInTraceContext(): () => void {
  return registerTraceContextHooks({
    runWithin: (text, fn) => {
      const remote = parseTraceContext(text);
      return remote ? context.with(trace.setSpanContext(context.active(), remote), fn) : fn();
    },
  });
}
