import type { SerializedTaskError } from './serialized-error.interface.js';

/**
 * One delivery of a task, as a {@link TaskClient} hands it to the worker loop.
 * A task keeps its `id` across attempts; each attempt is a new delivery.
 */
export interface TaskEnvelope<P = unknown> {
  /** Unique id of the task, the same for every attempt. */
  readonly id: string;
  /** Name given to `@Task()`. */
  readonly name: string;
  readonly payload: P;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  /** Overrides the task's and the module's `maxAttempts` for this task. */
  readonly maxAttempts?: number;
  /** Epoch milliseconds when the task was first enqueued. */
  readonly enqueuedAt?: number;
  /**
   * The trace context of the code that enqueued the task, when telemetry
   * (nestjs-worker/otel) was on there: the W3C `traceparent`, then a line
   * feed and the `tracestate` when there is one. Stored with the task by the
   * clients; each attempt's span is a child of it.
   */
  readonly traceContext?: string;
  /**
   * `enqueue(..., { concurrencyKey })`: with `@Task({ concurrencyPerKey })`,
   * at most that many deliveries of this task name and key run at once,
   * across every process.
   */
  readonly concurrencyKey?: string;
  /**
   * Client-private delivery data (a lease token, a stream entry id, ...).
   * The loop never reads it and hands it back in the outcome.
   */
  readonly receipt?: unknown;
}

/** Why a task attempt did not complete. */
export type TaskFailureReason =
  /** The handler threw or rejected. */
  | 'error'
  /** The attempt ran past its `timeoutMs`; its thread was stopped. */
  | 'timeout'
  /** The thread running the attempt died (`process.exit`, uncaught error, out of memory). */
  | 'crash'
  /** No `@Task()` of that name exists. Never retried. */
  | 'unknown-task'
  /** The payload failed the task's schema or cannot cross a thread boundary. Never retried. */
  | 'invalid-payload'
  /** The handler's result cannot cross a thread boundary. Never retried. */
  | 'invalid-result'
  /** The worker thread's Nest context could not start. */
  | 'boot';

interface OutcomeBase {
  readonly task: TaskEnvelope;
}

/** The handler returned; `result` is what it returned. */
export interface CompletedOutcome extends OutcomeBase {
  readonly status: 'completed';
  readonly result: unknown;
  /** Time the handler ran, in milliseconds. */
  readonly durationMs: number;
}

/** The attempt failed and no attempt is left (or the failure is not retryable): dead letter. */
export interface FailedOutcome extends OutcomeBase {
  readonly status: 'failed';
  readonly reason: TaskFailureReason;
  readonly error: SerializedTaskError;
}

/** The attempt failed; the client should deliver the task again as `nextAttempt` at `runAt`. */
export interface RetryOutcome extends OutcomeBase {
  readonly status: 'retry';
  readonly reason: TaskFailureReason;
  readonly error: SerializedTaskError;
  readonly nextAttempt: number;
  /** Backoff chosen by the loop, in milliseconds. */
  readonly delayMs: number;
  /** Epoch milliseconds: `Date.now() + delayMs` when the outcome was made. */
  readonly runAt: number;
}

/**
 * The loop gives the delivery back without having finished it (shutdown, or
 * the task was fetched but never started). The attempt does not count: the
 * client should make the task available again as it was.
 */
export interface ReleasedOutcome extends OutcomeBase {
  readonly status: 'released';
  /**
   * Make it available again no earlier than this many milliseconds from now
   * (a task over its rate limit or its key's concurrency waits, uncharged).
   * @default 0
   */
  readonly delayMs?: number;
}

/**
 * The loop stopped this delivery because the task was cancelled
 * (`cancel(id)`, here or in another process): dropped before it started, or
 * aborted while running. The store has already marked the task cancelled;
 * this closes the delivery (its lease, its concurrency permit) and changes
 * nothing else. Fenced like every outcome.
 */
export interface CancelledOutcome extends OutcomeBase {
  readonly status: 'cancelled';
  /** It had reached a thread. */
  readonly started: boolean;
}

export type TaskOutcome = CompletedOutcome | FailedOutcome | RetryOutcome | ReleasedOutcome | CancelledOutcome;

/** `@Task({ rateLimit })`: at most `max` starts per `intervalMs` for the task name, across every process. */
export interface RateLimit {
  /** Starts allowed per interval; an integer >= 1. */
  readonly max: number;
  /** Length of the (sliding) interval in milliseconds; an integer >= 1. */
  readonly intervalMs: number;
}

/**
 * Asked by the loop before it starts a delivery whose task has a rate limit
 * or whose `concurrencyKey` is limited. Granted as a whole or not at all.
 */
export interface PermitRequest {
  readonly task: TaskEnvelope;
  /** Consumes one start of the task name's window when granted. */
  readonly rateLimit?: RateLimit;
  /**
   * At most this many deliveries of `task.name` with `task.concurrencyKey`
   * hold a permit at once. The permit is the delivery's until its outcome is
   * published (any status) or its lease is lost; it is kept with the lease.
   */
  readonly concurrencyPerKey?: number;
}

/** Answer to a {@link PermitRequest}: when denied, how long to wait before trying again. */
export type PermitAnswer = { readonly granted: true } | { readonly granted: false; readonly retryAfterMs: number };

/** The latest `ctx.progress(value)` of a running delivery (JSON-compatible, or it is dropped with a warning). */
export interface ProgressUpdate {
  readonly task: TaskEnvelope;
  readonly value: unknown;
}

/**
 * A task the worker threads can run, with the policy the loop resolved for it
 * (`@Task()` options over module defaults). Handed to the client once, before
 * the first `fetch()`.
 */
export interface RegisteredTask {
  readonly name: string;
  /** Attempts in all, the first included: `@Task({ maxAttempts })`, else the module's `retry.maxAttempts`. */
  readonly maxAttempts: number;
  /** `@Task({ rateLimit })`. */
  readonly rateLimit?: RateLimit;
  /** `@Task({ concurrencyPerKey })`. */
  readonly concurrencyPerKey?: number;
}

/**
 * Where tasks come from and where their outcomes go. Provide one through
 * `WorkerModule.forRoot({ client })`; the default is the in-memory client.
 *
 * Contract the worker loop keeps: every envelope returned by `fetch()` is
 * reported exactly once through `publish()` — `completed`, `failed`, `retry`
 * or `released` — unless the process dies first, in which case a durable
 * client's lease runs out and the task is delivered again, or unless
 * `extendLeases()` reported its lease lost before it started: it is then
 * dropped without running and without an outcome.
 *
 * Contract a client keeps (the conformance suite in `nestjs-worker/testing`
 * checks it): `fetch()` returns at most `max` envelopes and returns soon
 * after its signal aborts; no two consumers hold the same task at once; an
 * outcome changes the task only if it belongs to the task's current
 * delivery (fencing: a second outcome for a delivery, or one from a
 * delivery whose lease was lost, changes nothing); `publish()` never rejects
 * for what an outcome holds (a cyclic, huge or otherwise hostile error is
 * stored lossy and bounded); `released` gives the task back as the same
 * attempt, uncharged.
 *
 * Close connections in `onApplicationShutdown()`, not `onModuleDestroy()`:
 * the worker loop flushes its last outcomes during `onModuleDestroy()`.
 */
export interface TaskClient {
  /**
   * Returns up to `max` tasks, or an empty array when none is ready. May wait
   * (long-poll) while none is ready, but must return soon after `signal` aborts.
   */
  fetch(max: number, signal: AbortSignal): Promise<readonly TaskEnvelope[]>;

  /** Records outcomes; called in batches from a loop of its own. A rejection is retried. */
  publish(outcomes: readonly TaskOutcome[]): Promise<void>;

  /**
   * Lease (visibility timeout) of a fetched task, in milliseconds. When set
   * together with `extendLeases`, the loop extends the lease of every task it
   * holds (queued or running) every `leaseMs / 3`.
   */
  readonly leaseMs?: number;

  /**
   * Extends the lease of tasks that are still held by this process. Resolves
   * with the deliveries whose lease could not be extended because it was
   * already lost (it ran out and the task was taken back, or another consumer
   * took it over) — the same envelope objects it was given; the loop drops
   * those it has not started yet, and reports the running ones once (their
   * outcomes will be fenced). Resolving with nothing means every lease was
   * extended. A delivery whose outcome this process has recorded meanwhile
   * (the loop extends tasks until their outcome is published) is not lost.
   */
  extendLeases?(tasks: readonly TaskEnvelope[]): Promise<void | readonly TaskEnvelope[]>;

  /**
   * Deliveries the loop has just handed to a worker thread, in batches a few
   * milliseconds apart. A store that can record it cheaply charges an attempt
   * on lease expiry only to tasks that started, so a killed process does not
   * use up the attempts of tasks it had only prefetched. A rejection is
   * logged and not retried: the lease-expiry rules must stay safe without it
   * (a task that kills its process every time still ends dead-lettered).
   */
  markStarted?(tasks: readonly TaskEnvelope[]): Promise<void>;

  /**
   * Lets the loop sleep while the source is empty: call `onAvailable` when
   * new tasks may be ready (a local enqueue, a `NOTIFY`, ...). Returns a
   * function that stops the watching.
   */
  watch?(onAvailable: () => void): () => void;

  /**
   * Called by the worker loop before its first `fetch()`, with every task
   * this process can run (a later call replaces the earlier set). A durable client decides some outcomes
   * without the loop (a lease that ran out on the task's last attempt): it
   * uses these policies there, for tasks enqueued without their own
   * `maxAttempts`, instead of a default of its own.
   */
  registerTasks?(tasks: readonly RegisteredTask[]): void;

  /**
   * Lets the loop stop deliveries it holds when their task is cancelled
   * (`TaskStore.cancel(id)`) in any process: call `onCancel` with the ids of
   * cancelled tasks that were running (a `NOTIFY`, a pub/sub message, ...).
   * The loop drops those it has not started and aborts those running (their
   * `ctx.signal` aborts; `timeoutGraceMs` later the thread is stopped),
   * then publishes a `cancelled` outcome for each. Returns a function that
   * stops the watching. A missed notice costs only CPU: the cancelled
   * delivery's outcome is fenced, and its next lease extension reports it lost.
   */
  watchCancels?(onCancel: (ids: readonly string[]) => void): () => void;

  /**
   * Stores the latest progress of running deliveries (`ctx.progress()`), so
   * `get(id)` shows it. Called in batches, already throttled by the loop
   * (latest value per delivery); fenced like outcomes (a delivery that lost
   * its lease changes nothing). Best effort: a rejection is logged, not retried.
   */
  reportProgress?(updates: readonly ProgressUpdate[]): Promise<void>;

  /**
   * Rate limits and concurrency keys, enforced across processes: one answer
   * per request, in order, each granted or denied atomically. A denied
   * delivery is given back with a `released` outcome whose `delayMs` is the
   * answer's `retryAfterMs` (it waits; no attempt is charged). Required when
   * a registered task has `rateLimit` or `concurrencyPerKey`.
   */
  acquirePermits?(requests: readonly PermitRequest[]): Promise<readonly PermitAnswer[]>;
}

/** A value, or a promise of it: the in-memory client answers synchronously, the durable ones asynchronously. */
export type MaybePromise<T> = T | Promise<T>;
