import type { MeterProvider, TracerProvider } from '@opentelemetry/api';

export const WORKER_TELEMETRY_OPTIONS = 'nestjs-worker:telemetry-options';
export const WORKER_THREAD_TELEMETRY_OPTIONS = 'nestjs-worker:thread-telemetry-options';

/** Options of `WorkerTelemetryModule.forRoot()`, in the application's main thread. */
export interface WorkerTelemetryOptions {
  /** A span per task attempt, child of the context that called `run()` or `enqueue()`. @default true */
  tracing?: boolean;
  /** The pool's and the loop's metrics. @default true */
  metrics?: boolean;
  /**
   * Where spans go. @default the global tracer provider (`trace.setGlobalTracerProvider()`,
   * which an SDK's `start()` / `register()` calls); while none is registered, nothing is traced
   */
  tracerProvider?: TracerProvider;
  /**
   * Where metrics go. Instruments are made when the application starts:
   * register the global meter provider before that, or pass it here.
   * @default the global meter provider; while none is registered, nothing is measured
   */
  meterProvider?: MeterProvider;
  /**
   * Store the active trace context with every task enqueued in this process
   * (on any task client), so that its attempts join the enqueuing trace.
   * @default true
   */
  propagateOnEnqueue?: boolean;
}

/** Options of `WorkerTelemetryModule.forThreads()`, in the tasks module the worker threads boot. */
export interface WorkerThreadTelemetryOptions {
  /**
   * Runs once in each worker thread, before its tasks can run: register this
   * thread's SDK there (a tracer provider with its exporter, and a context
   * manager, e.g. `AsyncLocalStorageContextManager`). Every thread is a
   * separate JavaScript realm with its own OpenTelemetry globals; what the
   * main thread registered is not seen in the threads. Not called in the
   * main thread (which imports the tasks module too).
   * @default undefined (the thread uses whatever it registered itself)
   */
  setup?: () => void | Promise<void>;
}
