import type { RetryBackoffOptions } from './worker-module-options.interface.js';

/**
 * A Standard Schema (zod 3.24+, valibot, arktype, ...): only its
 * `~standard.validate` function is used. See https://standardschema.dev.
 */
export interface StandardSchemaLike<T = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    validate(value: unknown): StandardSchemaResult<T> | Promise<StandardSchemaResult<T>>;
  };
}

export type StandardSchemaResult<T> =
  | { readonly value: T; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
      }>;
    };

/** Options of `@Task(name, options)`. Each overrides the module default. */
export interface TaskOptions {
  /**
   * Hard time limit of one attempt, in milliseconds. When it passes,
   * `ctx.signal` aborts; `timeoutGraceMs` later the thread is stopped
   * (even inside `while (true) {}`) and replaced. `0` means no limit.
   * @default the module's `defaultTimeoutMs` (0)
   */
  timeoutMs?: number;
  /**
   * Attempts before the task is failed for good (worker loop only; `run()`
   * makes one attempt and lets the caller decide).
   * @default the module's `retry.maxAttempts` (3)
   */
  maxAttempts?: number;
  /** Backoff between attempts. @default the module's `retry.backoff` */
  backoff?: Partial<RetryBackoffOptions>;
  /**
   * Decides, inside the worker thread, whether a thrown error may be retried.
   * Runs after the built-in rules (`NonRetryableError`, `retryable: false`).
   * @default every error is retryable
   */
  retryIf?: (error: unknown, attempt: number) => boolean;
  /**
   * Validates the payload in the worker thread before the handler runs; the
   * handler receives the schema's output. A failing payload fails the task at
   * once, without retries.
   * @default no validation
   */
  schema?: StandardSchemaLike;
  /**
   * Allows the pool to send this task to a thread together with other short
   * tasks in one message when the queue is deep. Batched tasks keep their own
   * timeout and error; a task that kills its thread has the rest of its batch
   * re-run one by one, so a non-idempotent task may want `false`.
   * @default true
   */
  batch?: boolean;
}
