/**
 * Where optional telemetry (nestjs-worker/otel) plugs into code that must not
 * depend on it: the task clients' `enqueue()` and the worker threads'
 * runtime. A slot on `globalThis` under a registry symbol, not a module
 * variable: the ES module and CommonJS builds of this package may both be
 * loaded in one thread (an ES module app, a CommonJS tasks file), and each
 * must see what the other registered. Nothing is registered unless
 * nestjs-worker/otel is in use; then every caller pays one property read.
 */

/**
 * A trace context as it travels with a task: the W3C `traceparent`, then,
 * when there is one, a line feed and the `tracestate` (a character neither
 * header may contain).
 */
export type TraceContextText = string;

export interface TraceContextHooks {
  /** The caller's active trace context, to store with a task it enqueues; undefined when there is none. */
  capture?: () => TraceContextText | undefined;
  /** Runs a handler inside the trace context its attempt was dispatched with (in the thread that runs it). */
  runWithin?: <T>(traceContext: TraceContextText, fn: () => T) => T;
}

const SLOT = Symbol.for('nestjs-worker.trace-context-hooks');

type WithSlot = { [SLOT]?: TraceContextHooks };

export function traceContextHooks(): TraceContextHooks | undefined {
  return (globalThis as WithSlot)[SLOT];
}

/** Merges `hooks` into what this thread has registered; returns a function that removes them again. */
export function registerTraceContextHooks(hooks: TraceContextHooks): () => void {
  const slot = ((globalThis as WithSlot)[SLOT] ??= {});
  Object.assign(slot, hooks);
  return () => {
    for (const key of Object.keys(hooks) as Array<keyof TraceContextHooks>) {
      if (slot[key] === hooks[key]) delete slot[key];
    }
  };
}

/** The trace context to store with a task being enqueued now, if telemetry is on and a trace is active. */
export function captureTraceContext(): TraceContextText | undefined {
  return (globalThis as WithSlot)[SLOT]?.capture?.();
}
