import type { LoggerService } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import type { SerializedTaskError } from '../../interfaces/serialized-error.interface.js';
import type { TaskFailureReason } from '../../interfaces/task-client.interface.js';

/** Injection token of the options when `RedisTaskClient` is given to `forRoot()` as a class. */
export const REDIS_TASK_CLIENT_OPTIONS = 'nestjs-worker:redis-client-options';

export interface RedisTaskClientOptions {
  /**
   * A ready ioredis connection for commands (enqueue, publish, ...). The
   * client never closes it; the blocking reads use a `duplicate()` of it,
   * which the client owns. The client defines its Lua scripts on it
   * (`defineCommand`, names starting with `nestjsWorker_`). Give either this
   * or `url`.
   * @default undefined (a connection to `url` is made and closed by the client)
   */
  connection?: Redis;
  /** Redis URL, used when no `connection` is given. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /**
   * ioredis options for the connections the client makes itself (TLS,
   * password, `db`, ...). Without a `retryStrategy` of yours, a lost
   * connection is retried after 100 ms, doubling up to 5 s, jittered.
   * @default {}
   */
  redisOptions?: RedisOptions;
  /** First part of every key: `<prefix>:<queue>:...`. @default 'nestjs-worker' */
  prefix?: string;
  /** Queue name: producers and consumers of the same prefix and queue share tasks. @default 'default' */
  queue?: string;
  /**
   * Lease of a fetched task, in milliseconds: the worker loop extends it
   * every `leaseMs / 3` while it holds the task. An entry nobody extended for
   * this long (its process died or stalled) is taken over by another
   * consumer and run again; that counts as an attempt only if the task had
   * started (reached a worker thread). A delivery that never started is
   * taken over sooner, after `leaseMs / 2`, from a consumer that extends its
   * leases (as the worker loop does) and has extended none for that long.
   * @default 30000
   */
  leaseMs?: number;
  /**
   * Longest single blocking read (`XREADGROUP ... BLOCK`), in milliseconds.
   * New tasks are picked up at once regardless; this bounds how late a due
   * delayed task or an expired lease is noticed by an otherwise idle consumer.
   * @default 1000
   */
  blockMs?: number;
  /** How long a completed task's record (and result) is kept, in milliseconds. @default 86400000 (1 day) */
  keepCompletedMs?: number;
  /** How long a failed task's record and its dead-letter entry are kept, in milliseconds. @default 604800000 (7 days) */
  keepFailedMs?: number;
  /**
   * Attempt limit when a lease runs out, only for task names this process
   * has no `@Task()` for (another service's tasks on a shared queue). For the
   * others the worker loop registers each task's limit: its
   * `@Task({ maxAttempts })`, else the module's `retry.maxAttempts`. A task
   * enqueued with its own `maxAttempts` keeps that. A task whose lease runs
   * out after it started on its last attempt is dead-lettered with reason
   * `'crash'`, and so is one whose deliveries were lost `maxAttempts + 3`
   * times in all (started or not: a task that kills its process before its
   * start is recorded). Failures the worker loop sees follow the module's
   * `retry` options.
   * @default 3
   */
  maxAttempts?: number;
  /** Where connection trouble and ignored stale outcomes are logged. @default new Logger('RedisTaskClient') */
  logger?: LoggerService;
}

/** Options of `enqueue()`. */
export interface RedisEnqueueOptions {
  /** Run no earlier than this many milliseconds from now (server clock). @default 0 */
  delayMs?: number;
  /** An integer. Positive: high band, negative: low band, 0: normal band; each band is FIFO. @default 0 */
  priority?: number;
  /** Overrides the task's `maxAttempts`. @default undefined (the task's, or the module's) */
  maxAttempts?: number;
  /** Your own id; enqueueing an id whose record still exists adds nothing. @default a generated id */
  id?: string;
  /**
   * At most one task of this name and key waits or runs at a time (key
   * `unique:<name length>:<name>:<key>`, set in the same script as the task).
   * A second enqueue with the key in use resolves with the existing task's
   * id. Free again once that task completes, is dead-lettered (lease expiry
   * included) or is cancelled.
   * @default no key
   */
  uniqueKey?: string;
  /**
   * With `uniqueKey`: `'keep'` leaves the existing task as it is; `'replace'`
   * gives a waiting one this enqueue's payload and options in place (same
   * id; a queued one moves to the end of its new band, or to the delayed
   * set). A running task is always kept.
   * @default 'keep'
   */
  onDuplicate?: 'keep' | 'replace';
  /**
   * Stored with the task and on each delivery; with `@Task({ concurrencyPerKey })`
   * at most that many tasks of this name and key run at once, across processes.
   * @default no key
   */
  concurrencyKey?: string;
}

export type RedisTaskCounts = Record<'queued' | 'delayed' | 'running' | 'completed' | 'failed' | 'cancelled', number>;

/** One entry of the dead-letter stream `<prefix>:<queue>:dead`. */
export interface RedisDeadLetter {
  /** Id of the dead-letter stream entry. */
  readonly entryId: string;
  readonly id: string;
  /** `''` when the producer wrote no name. */
  readonly name: string;
  /** The payload, or the raw text when it is not valid JSON (`undefined` when missing). */
  readonly payload: unknown;
  readonly attempt: number;
  readonly reason: TaskFailureReason;
  /** The last attempt's error. */
  readonly error: SerializedTaskError;
  /** Every attempt's error, oldest first. */
  readonly errors: readonly SerializedTaskError[];
  /** Epoch ms (server clock). */
  readonly failedAt: number;
  /** Every field of the entry as written, for entries that could not be decoded. */
  readonly fields: Readonly<Record<string, string>>;
}

/** Counters of one client instance, since it was made. */
export interface RedisTaskClientStats {
  /** Outcomes ignored because the entry had been delivered again meanwhile (fenced by the delivery count). */
  staleOutcomes: number;
  /** Deliveries whose lease this client found lost when extending it (each counted once). */
  lostLeases: number;
  /** Deliveries this client took over after their lease ran out (run again, or dead-lettered). */
  expiredLeases: number;
  /** Of those, deliveries that had not started: run again as the same attempt, not charged. */
  unchargedExpiries: number;
  /** Entries this client dead-lettered because they could not be decoded or handled. */
  invalidEntries: number;
  /** Times this client found that Redis had lost the queue's data. */
  dataLosses: number;
}
