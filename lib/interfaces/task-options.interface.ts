import type { RateLimit } from './task-client.interface.js';
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
  /**
   * At most `max` starts per `intervalMs` of this task, across every process
   * of the task client's store (worker loop only). Tasks over the limit
   * wait, uncharged. Needs a client with `acquirePermits` (all built-in ones).
   * @default no limit
   */
  rateLimit?: RateLimit;
  /**
   * At most this many tasks of this name with the same
   * `enqueue(..., { concurrencyKey })` run at once, across every process;
   * the others wait, uncharged, and other keys go first (worker loop only).
   * @default no limit
   */
  concurrencyPerKey?: number;
  /**
   * Enqueue this task on a cron schedule (one fire per tick across all
   * processes, see {@link TaskSchedule}).
   * @default not scheduled
   */
  schedule?: TaskSchedule;
}

/** A cron schedule: `@Task(name, { schedule })` or the module's `schedules` option. */
export interface TaskSchedule {
  /** Five fields (minute hour day-of-month month day-of-week), or six with seconds first. */
  cron: string;
  /** IANA time zone the cron expression is read in. @default 'UTC' */
  timezone?: string;
  /** Payload of every fire. @default undefined */
  payload?: unknown;
  /**
   * After downtime, `'latest'` fires the most recent missed tick once (never
   * the earlier ones); `'none'` waits for the next tick. A schedule the store
   * has never seen starts at its next tick either way.
   * @default 'latest'
   */
  catchUp?: 'latest' | 'none';
  /** Name of the schedule's marker in the store. @default the task name */
  key?: string;
}
