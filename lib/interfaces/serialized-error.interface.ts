/**
 * An error in a form that survives a thread boundary, JSON and a database
 * column. Built from what a handler threw; turned back into an `Error` by the
 * main thread (see `deserializeError`).
 */
export interface SerializedTaskError {
  /** `error.name` as thrown (`TypeError`, `PaymentDeclinedError`, ...). */
  name: string;
  message: string;
  /** Stack captured in the thread that threw. */
  stack?: string;
  /** `error.code`, when the error had one. */
  code?: string | number;
  /** Other own properties that could be copied. */
  props?: Record<string, unknown>;
  cause?: SerializedTaskError;
  /** `false` when the error asked not to be retried. */
  retryable?: boolean;
}
