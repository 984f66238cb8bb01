import {
  Inject,
  Injectable,
  Optional,
  type LoggerService,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Pool } from 'pg';
import { Messages } from '../../errors/error-messages.js';
import type {
  PermitAnswer,
  PermitRequest,
  ProgressUpdate,
  RegisteredTask,
  TaskClient,
  TaskEnvelope,
  TaskOutcome,
} from '../../interfaces/task-client.interface.js';
import type { DeadLetter, ScheduleFire, TaskRecord, TaskStore } from '../../interfaces/task-store.interface.js';
import { AttemptLimits } from '../kit/attempt-limits.registry.js';
import type { EnqueueInput } from './postgres.codec.js';
import { PostgresConnections } from './postgres.connections.js';
import { PostgresDatabase } from './postgres.database.js';
import { PostgresFetcher } from './postgres.fetcher.js';
import { PostgresHeldWrites } from './postgres.held-writes.js';
import { PostgresJobControlStatements } from './postgres-job-control.statements.js';
import { PostgresMaintenance } from './postgres.maintenance.js';
import { runMigrations } from './postgres.migrations.js';
import { PostgresPermits } from './postgres.permits.js';
import { PostgresProducer } from './postgres.producer.js';
import { PostgresStatements } from './postgres.statements.js';
import { PostgresWatchers } from './postgres.watchers.js';
import {
  POSTGRES_TASK_CLIENT_OPTIONS,
  type PostgresEnqueueOptions,
  type PostgresMigrationResult,
  type PostgresTaskClientOptions,
  type PostgresTaskClientStats,
  type PostgresTaskCounts,
} from './postgres-task-client-options.interface.js';
import { resolvePostgresOptions, type ResolvedPostgresOptions } from './postgres-task-client-options.resolver.js';

/**
 * A durable task source on one PostgreSQL table, shared by any number of
 * processes and machines. Producers `enqueue()` from anywhere, with or
 * without Nest (or INSERT from any language); worker loops claim batches with
 * `FOR UPDATE SKIP LOCKED` under a lease, and settle them with outcomes fenced
 * by the lease token. Delivery is at-least-once: a task whose process dies
 * runs again once its lease runs out (that counts as an attempt); make
 * handlers idempotent.
 */
@Injectable()
export class PostgresTaskClient implements TaskClient, TaskStore, OnModuleInit, OnApplicationShutdown {
  readonly leaseMs: number;
  readonly schema: string;
  readonly queue: string;
  /** The pool in use: yours, or the one the client made. */
  readonly pool: Pool;
  private readonly counters: PostgresTaskClientStats = {
    claimed: 0,
    staleOutcomes: 0,
    lostLeases: 0,
    expiredLeases: 0,
    unchargedExpiries: 0,
    invalidRows: 0,
    cleanedUp: 0,
  };
  private readonly settings: ResolvedPostgresOptions;
  private readonly limits: AttemptLimits;
  private readonly sql: PostgresStatements;
  private readonly logger: LoggerService;
  private readonly connections: PostgresConnections;
  // The roles this façade delegates to: producers use only `producer`;
  // worker loops the fetcher, held writes, permits and watchers.
  private readonly producer: PostgresProducer;
  private readonly maintenance: PostgresMaintenance;
  private readonly fetcher: PostgresFetcher;
  private readonly writes: PostgresHeldWrites;
  private readonly permits: PostgresPermits;
  private readonly watchers: PostgresWatchers;
  private closing?: Promise<void>;

  constructor(@Optional() @Inject(POSTGRES_TASK_CLIENT_OPTIONS) options?: PostgresTaskClientOptions) {
    this.settings = resolvePostgresOptions(options);
    ({ leaseMs: this.leaseMs, schema: this.schema, queue: this.queue, logger: this.logger } = this.settings);
    this.sql = new PostgresStatements(this.schema);
    const closing = () => this.closing !== undefined;
    this.connections = new PostgresConnections(this.settings, this.logger, closing);
    this.pool = this.connections.pool;
    const db = new PostgresDatabase(this.pool, this.sql.table, this.queue);
    const jobs = new PostgresJobControlStatements(this.schema, this.sql.cancelChannel);
    const { track } = this.connections;
    this.watchers = new PostgresWatchers(this.pool, this.sql, this.settings, track);
    this.producer = new PostgresProducer(db, this.sql, jobs, this.settings, this.watchers);
    this.permits = new PostgresPermits(db.query, jobs, this.queue, this.logger);
    this.limits = new AttemptLimits(this.settings.maxAttempts);
    this.maintenance = new PostgresMaintenance(
      db.query,
      this.sql,
      this.settings,
      this.counters,
      this.limits,
      this.logger,
    );
    this.writes = new PostgresHeldWrites(
      db.query,
      this.sql,
      jobs,
      this.permits,
      this.counters,
      this.settings,
      closing,
      track,
    );
    this.fetcher = new PostgresFetcher(
      db.query,
      this.sql,
      this.maintenance,
      this.counters,
      this.settings,
      (outcomes) => this.publish(outcomes),
      track,
    );
  }

  /** Qualified table name, e.g. `"nestjs_worker".tasks`. */
  get table(): string {
    return this.sql.table;
  }

  /** What this client instance saw since it was made (a copy). */
  get stats(): Readonly<PostgresTaskClientStats> {
    return { ...this.counters };
  }

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.watchers.listening;
  }

  /** Creates or upgrades the schema (versioned; safe from several processes at once). */
  migrate(): Promise<PostgresMigrationResult> {
    return runMigrations(this.pool, this.schema);
  }

  async onModuleInit(): Promise<void> {
    if (this.settings.migrate) await this.migrate();
  }

  /** Adds a task; resolves with its id once it is committed. */
  async enqueue(name: string, payload?: unknown, options: PostgresEnqueueOptions = {}): Promise<string> {
    this.assertOpen('enqueue');
    return this.producer.enqueue(name, payload, options);
  }

  /**
   * Adds many tasks in one transaction, `enqueueChunkSize` rows per INSERT:
   * all of them or none. Resolves with their ids in order. An id whose row
   * still exists is left as it is (deduplication), its id returned all the same.
   */
  async enqueueMany(tasks: readonly EnqueueInput[]): Promise<string[]> {
    this.assertOpen('enqueueMany');
    return this.producer.enqueueMany(tasks);
  }

  /**
   * Lease expiry decides some outcomes without the loop: from now on it uses
   * these limits for tasks enqueued without their own (see AttemptLimits).
   */
  registerTasks(tasks: readonly RegisteredTask[]): void {
    this.limits.register('PostgresTaskClient', tasks);
  }

  /** The task's row, shaped like `InMemoryTaskClient.get()`; undefined if unknown or deleted after its retention. */
  async get<R = unknown>(id: string): Promise<TaskRecord<R> | undefined> {
    return this.producer.get<R>(id);
  }

  /** Tasks of the queue per state (a scan of the queue's rows; for monitoring, not for hot paths). */
  async counts(): Promise<PostgresTaskCounts> {
    return this.producer.counts();
  }

  /** Dead letters of the queue still kept (`keepFailedMs`), the newest first. */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    return this.producer.deadLetters(limit);
  }

  /**
   * Puts a dead letter back in the queue as attempt 1 (its errors kept);
   * resolves false when `id` is not a dead letter of this queue.
   */
  async retryDeadLetter(id: string): Promise<boolean> {
    this.assertOpen('retryDeadLetter');
    return this.producer.retryDeadLetter(id);
  }

  /**
   * Cancels a waiting or running task; false when it is unknown or already
   * finished. A running one is cancelled at once in the table (its holder's
   * outcome and lease extensions are fenced from now on) and its holder is
   * told with a NOTIFY on the cancel channel, which every consuming process
   * LISTENs to (`watchCancels`). The row is kept like a completed one
   * (`keepCompletedMs`); its unique key is free at once.
   */
  async cancel(id: string): Promise<boolean> {
    this.assertOpen('cancel');
    return this.producer.cancel(id);
  }

  /**
   * Fires a schedule's tick at most once across every process: moves the
   * schedule's marker forward and enqueues the task in one transaction (see
   * PostgresSchedules). Resolves with the new task's id, or undefined when
   * the tick was fired (or passed) already, or only recorded (`whenNew:
   * 'record'` on a schedule the store did not know).
   */
  async fireSchedule(fire: ScheduleFire): Promise<string | undefined> {
    this.assertOpen('fireSchedule');
    return this.producer.fireSchedule(fire);
  }

  fetch(max: number, signal: AbortSignal): Promise<readonly TaskEnvelope[]> {
    if (this.closing || signal.aborted || !(max > 0)) return Promise.resolve([]);
    return this.fetcher.fetch(max, signal);
  }

  /**
   * Settles a batch of outcomes in one statement. Fenced: an outcome whose
   * lease was lost meanwhile changes nothing and is counted as stale; one
   * this claim had recorded already (a retried publish whose first reply was
   * lost) is recognised as such.
   */
  publish(outcomes: readonly TaskOutcome[]): Promise<void> {
    return this.writes.publish(outcomes);
  }

  /**
   * Extends the leases of tasks this process still holds, in one statement,
   * and resolves with those of `tasks` (the same objects) whose lease was
   * already lost: taken back after it ran out, or claimed by another
   * consumer since. A delivery this process has settled meanwhile is not
   * lost. Each lost delivery is counted and logged once. Overlapping calls
   * share the one in flight.
   */
  extendLeases(tasks: readonly TaskEnvelope[]): Promise<readonly TaskEnvelope[]> {
    return this.writes.extendLeases(tasks);
  }

  /**
   * Records that these deliveries reached a worker thread, in one
   * statement: from now on their lease running out charges an attempt.
   * Deliveries never marked (prefetched by a process that died) go back
   * uncharged, within a bound (see the take-back statement).
   */
  markStarted(tasks: readonly TaskEnvelope[]): Promise<void> {
    return this.writes.markStarted(tasks);
  }

  /**
   * Stores the latest progress of running deliveries in one statement,
   * fenced by their lease tokens (a delivery that lost its lease, or whose
   * task was cancelled, writes nothing). A value JSON cannot carry is
   * dropped with a warning.
   */
  reportProgress(updates: readonly ProgressUpdate[]): Promise<void> {
    return this.writes.reportProgress(updates);
  }

  /**
   * Rate limits and concurrency keys across every process of the queue: one
   * statement for the batch, answers in order (see PostgresPermits). A
   * concurrency permit lasts while its delivery holds its lease: until its
   * outcome is published, or its lease is lost.
   */
  acquirePermits(requests: readonly PermitRequest[]): Promise<readonly PermitAnswer[]> {
    return this.permits.acquire(requests);
  }

  watch(onAvailable: () => void): () => void {
    return this.watchers.watch(onAvailable);
  }

  /**
   * Calls `onCancel` with the ids of tasks cancelled while running, in any
   * process of the queue, as their NOTIFY arrives on the LISTEN connection
   * (with `listen: false`, only cancels made through this client). A notice
   * missed while the connection was down is made up for by the next lease
   * extension, which reports a cancelled delivery lost.
   */
  watchCancels(onCancel: (ids: readonly string[]) => void): () => void {
    return this.watchers.watchCancels(onCancel);
  }

  /**
   * Deletes finished (and cancelled) rows past their retention; resolves
   * with how many. Also removes concurrency permits left by processes that
   * died holding them. Runs every `cleanupIntervalMs` in consuming processes.
   */
  async cleanup(): Promise<number> {
    const deleted = await this.maintenance.cleanup();
    await this.permits.sweep();
    return deleted;
  }

  /** Stops the LISTEN connection and timers, and ends the pool if the client made it. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.maintenance.stop();
      await this.watchers.stop();
      await this.connections.close();
    })();
    return this.closing;
  }

  /** Nest calls this after every `onModuleDestroy()`, so the worker loop has flushed its outcomes by then. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  private assertOpen(method: string): void {
    if (this.closing) throw new Error(Messages.pgClosed(method));
  }
}
