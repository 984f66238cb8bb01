import type { SerializedTaskError } from './serialized-error.interface.js';
import type { MaybePromise, TaskFailureReason } from './task-client.interface.js';

/**
 * Where a task is: waiting (`queued`, or `delayed` until its run time),
 * held by a worker loop (`running`: fetched, started or not), or finished
 * (`completed`, `failed` — a dead letter — or `cancelled`).
 */
export type TaskState = 'queued' | 'delayed' | 'running' | 'completed' | 'failed' | 'cancelled';

/** What a store knows about one task. The same shape on every client. */
export interface TaskRecord<R = unknown> {
  readonly id: string;
  readonly name: string;
  readonly payload: unknown;
  readonly state: TaskState;
  /** Attempt currently running, or the last one made. */
  readonly attempt: number;
  readonly maxAttempts?: number;
  readonly priority: number;
  /** Epoch ms. */
  readonly enqueuedAt: number;
  /** Epoch ms when it may run (delayed tasks and retries). */
  readonly runAt: number;
  readonly result?: R;
  /** Every failed attempt's error, oldest first. */
  readonly errors: readonly SerializedTaskError[];
  readonly failureReason?: TaskFailureReason;
  /** Epoch ms when it completed, failed for good or was cancelled. */
  readonly finishedAt?: number;
  /** The latest `ctx.progress(value)` of the running (or last) attempt. */
  readonly progress?: unknown;
  /** `enqueue(..., { uniqueKey })`. */
  readonly uniqueKey?: string;
  /** `enqueue(..., { concurrencyKey })`. */
  readonly concurrencyKey?: string;
}

/** Tasks per state. */
export type TaskCounts = Record<TaskState, number>;

/** Options of `enqueue()`, the same on every client. */
export interface EnqueueOptions {
  /** Run no earlier than this many milliseconds from now; past 2^31 ms (about 24.8 days) is fine. @default 0 */
  delayMs?: number;
  /** Higher runs first; equal priorities run in enqueue order. An integer. @default 0 */
  priority?: number;
  /** Overrides the task's `maxAttempts`. */
  maxAttempts?: number;
  /**
   * Your own id. A task whose id is already in the store is not added a
   * second time: the durable clients keep the existing one and return its id
   * (a deduplication key), the in-memory client throws.
   * @default a generated id
   */
  id?: string;
  /**
   * At most one task of this name and key is waiting (queued or delayed) or
   * running at a time. A second enqueue with the key in use does what
   * `onDuplicate` says and returns the existing task's id. The key is free
   * again once that task completes, fails for good or is cancelled.
   * @default no key
   */
  uniqueKey?: string;
  /**
   * With `uniqueKey`: `'keep'` leaves the existing task as it is; `'replace'`
   * gives a waiting one this enqueue's payload and options (same id; its
   * place follows the new `delayMs` and `priority`). A running task is
   * always kept.
   * @default 'keep'
   */
  onDuplicate?: 'keep' | 'replace';
  /**
   * Groups tasks of one name (a tenant, a user, an account) so that at most
   * `@Task({ concurrencyPerKey })` of them run at once, across processes;
   * the others wait, uncharged. Without a limit on the task it is stored and
   * shown, nothing more.
   * @default no key
   */
  concurrencyKey?: string;
}

/** One task of `enqueueMany()`. */
export type EnqueueTask = { name: string; payload?: unknown } & EnqueueOptions;

/** A task that failed for good (a dead letter), newest first in `deadLetters()`. */
export interface DeadLetter {
  readonly id: string;
  /** `''` when the producer wrote no name. */
  readonly name: string;
  readonly payload: unknown;
  /** The attempt that failed last. */
  readonly attempt: number;
  readonly reason: TaskFailureReason;
  /** The last attempt's error. */
  readonly error: SerializedTaskError;
  /** Every attempt's error, oldest first. */
  readonly errors: readonly SerializedTaskError[];
  /** Epoch ms. */
  readonly failedAt: number;
}

/**
 * One tick of a schedule, offered by every process that runs the schedule;
 * the store fires it (enqueues `task`) at most once per `key` and `tick`.
 */
export interface ScheduleFire {
  /** The schedule's name (by default the task name); one marker per key and store. */
  readonly key: string;
  /** Epoch ms of the tick. */
  readonly tick: number;
  readonly task: EnqueueTask;
  /**
   * When the store has no marker for `key` yet: `'fire'` fires and records
   * the tick; `'record'` only records it (a new schedule does not fire for a
   * tick that passed before it existed).
   */
  readonly whenNew: 'fire' | 'record';
}

/**
 * The producer's and operator's side of a task client: put tasks in, look at
 * them. `InMemoryTaskClient`, `PostgresTaskClient` and `RedisTaskClient`
 * implement it next to `TaskClient` (the worker loop's side), so code that
 * enqueues can be written once against `TaskStore` and run on any of them.
 *
 * Methods return a value or a promise of it (`MaybePromise`): the in-memory
 * client answers synchronously, the durable ones asynchronously. `await`
 * works on both.
 *
 * Payloads: `enqueue()` either stores the payload so that the handler gets
 * exactly what was given, or throws a `TypeError` and stores nothing (a
 * durable client refuses what JSON cannot carry: BigInt, cycles). A bad
 * task in `enqueueMany()` leaves the store as it was.
 *
 * Members added after the first release (cancel, schedules, retrying a dead letter) are
 * optional, so a store written against an earlier version keeps
 * compiling; the conformance suite (`nestjs-worker/testing`) runs their
 * cases on the stores that have them.
 */
export interface TaskStore {
  /** Adds a task; returns its id. */
  enqueue(name: string, payload?: unknown, options?: EnqueueOptions): MaybePromise<string>;
  /** Adds many tasks, all or none; returns their ids in order. */
  enqueueMany(tasks: readonly EnqueueTask[]): MaybePromise<readonly string[]>;
  /** The task, or `undefined` when unknown (never enqueued, or removed after its retention). */
  get<R = unknown>(id: string): MaybePromise<TaskRecord<R> | undefined>;
  /**
   * Tasks per state. The in-memory and PostgreSQL clients count the tasks
   * they keep; Redis counts `completed` and `failed` since the queue was made.
   */
  counts(): MaybePromise<TaskCounts>;
  /** The newest dead letters first, at most `limit` (default 100). */
  deadLetters(limit?: number): MaybePromise<readonly DeadLetter[]>;
  /**
   * Puts a dead letter back in the queue to run again: as attempt 1, with
   * every attempt anew; the errors of its earlier attempts are kept. Returns
   * false when `id` is not a dead letter (unknown, removed after its
   * retention, or not failed). Optional: a store without it cannot retry
   * dead letters (the dashboard hides the action).
   */
  retryDeadLetter?(id: string): MaybePromise<boolean>;
  /**
   * Cancels a task: a waiting one never runs; a running one is marked
   * cancelled now (its late outcome is fenced) and its holder, in whichever
   * process, is told to abort it (`TaskClient.watchCancels`). Returns false
   * when the task is unknown or already finished.
   */
  cancel?(id: string): MaybePromise<boolean>;
  /**
   * Atomically: if `fire.tick` is later than the tick recorded for
   * `fire.key`, records it and enqueues `fire.task` (unless the marker was
   * missing and `whenNew` is `'record'`), returning the new task's id;
   * otherwise changes nothing and returns undefined. N processes offering
   * the same tick fire it once.
   */
  fireSchedule?(fire: ScheduleFire): MaybePromise<string | undefined>;
}
