import type { LoggerService } from '@nestjs/common';
import type { Pool, PoolConfig } from 'pg';
import type { TaskCounts } from '../../interfaces/task-store.interface.js';

/** Injection token of the options when `PostgresTaskClient` is given to `forRoot()` as a class. */
export const POSTGRES_TASK_CLIENT_OPTIONS = 'nestjs-worker:postgres-client-options';

export interface PostgresTaskClientOptions {
  /**
   * A ready `pg.Pool`. The client never ends it (you do, after the app has
   * closed). Give either this or `connectionString` / `poolConfig`.
   * @default undefined (the client makes a pool of its own and ends it on shutdown)
   */
  pool?: Pool;
  /** `postgres://user:password@host:port/database`, for the pool the client makes. @default undefined */
  connectionString?: string;
  /**
   * Further `pg.Pool` settings for the pool the client makes (TLS, `max`, ...).
   * @default { max: 10, connectionTimeoutMillis: 10000, application_name: 'nestjs-worker' }
   */
  poolConfig?: PoolConfig;
  /** Schema of the tables; lowercase letters, digits and `_`. @default 'nestjs_worker' */
  schema?: string;
  /** Queue name: producers and consumers of the same schema and queue share tasks. @default 'default' */
  queue?: string;
  /**
   * Apply the schema migrations in `onModuleInit()` (safe from several
   * processes at once). Otherwise call `await client.migrate()` yourself, once
   * per deployment.
   * @default false
   */
  migrate?: boolean;
  /**
   * Lease (visibility timeout) of a fetched task, in milliseconds: the worker
   * loop extends it every `leaseMs / 3` while it holds the task. A task whose
   * lease ran out (its process died or stalled) is taken back and delivered
   * again: as its next attempt when it had started in a worker thread, as the
   * same attempt when it had only been prefetched.
   * @default 30000
   */
  leaseMs?: number;
  /**
   * Attempt limit when a lease runs out, only for task names this process
   * has no `@Task()` for (another service's tasks on a shared queue). For the
   * others the worker loop registers each task's limit: its
   * `@Task({ maxAttempts })`, else the module's `retry.maxAttempts`. A task
   * enqueued with its own `maxAttempts` keeps that. A task whose lease runs
   * out on its last attempt is dead-lettered with reason `'crash'`. Failures
   * the worker loop sees follow the module's `retry` options.
   * @default 3
   */
  maxAttempts?: number;
  /** How long a completed task's row (and result) is kept, in milliseconds. @default 86400000 (1 day) */
  keepCompletedMs?: number;
  /** How long a failed task's row (dead letter, every attempt's error) is kept, in milliseconds. @default 604800000 (7 days) */
  keepFailedMs?: number;
  /** How often a consuming client deletes finished rows past their retention, in milliseconds; 0 never. @default 60000 */
  cleanupIntervalMs?: number;
  /**
   * Wake idle worker loops with `LISTEN`/`NOTIFY` (one extra connection per
   * consuming process). Without it new tasks are found by polling, at most
   * `loop.idleMaxMs` late.
   * @default true
   */
  listen?: boolean;
  /** Tasks per `INSERT` statement in `enqueueMany()`. @default 5000 */
  enqueueChunkSize?: number;
  /** Where connection trouble, dead-lettered bad rows and ignored stale outcomes are logged. @default new Logger('PostgresTaskClient') */
  logger?: LoggerService;
}

/** Options of `enqueue()` and `enqueueMany()`. */
export interface PostgresEnqueueOptions {
  /** Run no earlier than this many milliseconds from now (database clock). @default 0 */
  delayMs?: number;
  /** Higher runs first; equal priorities run in `runAt`, then enqueue, order. An integer. @default 0 */
  priority?: number;
  /** Overrides the task's `maxAttempts`. @default undefined (the task's, or the module's) */
  maxAttempts?: number;
  /** Your own id (a deduplication key): enqueueing an id whose row still exists adds nothing. @default a random UUID */
  id?: string;
  /**
   * At most one waiting or running task of this name and key in the queue,
   * across every process (a partial unique index): a second enqueue returns
   * the existing task's id and does what `onDuplicate` says. Free again once
   * that task completes, fails for good or is cancelled.
   * @default no key
   */
  uniqueKey?: string;
  /**
   * With `uniqueKey`: `'keep'` leaves the existing task as it is; `'replace'`
   * gives a waiting one this payload and options (same id). A running task is
   * always kept.
   * @default 'keep'
   */
  onDuplicate?: 'keep' | 'replace';
  /** Groups tasks for `@Task({ concurrencyPerKey })`; stored and shown otherwise. @default no key */
  concurrencyKey?: string;
}

export type PostgresTaskCounts = TaskCounts;

/** What `migrate()` did. */
export interface PostgresMigrationResult {
  /** Versions applied by this call, in order (empty when the schema was up to date). */
  applied: number[];
  /** Schema version after the call. */
  version: number;
}

/** Counters of one client instance, since it was made. */
export interface PostgresTaskClientStats {
  /** Tasks claimed by `fetch()`. */
  claimed: number;
  /** Outcomes ignored because the lease had been lost to another claim (fenced by the lease token). */
  staleOutcomes: number;
  /** Deliveries whose lease this client found lost when extending it (each counted once). */
  lostLeases: number;
  /** Expired leases this client took back (requeued, or dead-lettered). */
  expiredLeases: number;
  /** Of those, deliveries that had not started: given back as the same attempt, not charged. */
  unchargedExpiries: number;
  /** Rows this client dead-lettered because their payload could not be decoded. */
  invalidRows: number;
  /** Finished rows deleted by the cleanup. */
  cleanedUp: number;
}
