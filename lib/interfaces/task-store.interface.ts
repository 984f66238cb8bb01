import type { SerializedTaskError } from './serialized-error.interface.js';
import type { MaybePromise, TaskFailureReason } from './task-client.interface.js';

/**
 * Where a task is: waiting (`queued`, or `delayed` until its run time),
 * held by a worker loop (`running`: fetched, started or not), or finished.
 */
export type TaskState = 'queued' | 'delayed' | 'running' | 'completed' | 'failed';

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
  readonly finishedAt?: number;
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
 * Members added later (cancel, progress, retrying a dead letter) will be
 * optional here first, so a store written against this version keeps
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
}
