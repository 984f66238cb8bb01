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
import { PostgresDependencyError } from '../../errors/worker.errors.js';
import { packageRequire } from '../../internal/package-location.js';
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
import { encodeJson } from '../kit/json.encoder.js';
import {
  encodeTask,
  settleColumns,
  toDeadLetter,
  toRecord,
  type DeadLetterRow,
  type EnqueueInput,
  type EnqueueRow,
  type RecordRow,
} from './postgres.codec.js';
import { PostgresDatabase } from './postgres.database.js';
import { PostgresEnqueuer } from './postgres.enqueuer.js';
import { PostgresFetcher } from './postgres.fetcher.js';
import { PostgresJobControlStatements } from './postgres-job-control.statements.js';
import { PostgresListener } from './postgres.listener.js';
import { PostgresMaintenance } from './postgres.maintenance.js';
import { runMigrations } from './postgres.migrations.js';
import { PostgresPermits } from './postgres.permits.js';
import { PostgresSchedules } from './postgres.schedules.js';
import { PostgresStatements } from './postgres.statements.js';
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
  private readonly ownsPool: boolean;
  private readonly db: PostgresDatabase;
  private readonly maintenance: PostgresMaintenance;
  private readonly fetcher: PostgresFetcher;
  private readonly listener?: PostgresListener;
  private readonly jobs: PostgresJobControlStatements;
  private readonly enqueuer: PostgresEnqueuer;
  private readonly permits: PostgresPermits;
  private readonly schedules: PostgresSchedules;
  private readonly watchers = new Set<() => void>();
  private readonly cancelWatchers = new Set<(ids: readonly string[]) => void>();
  /** Work that must end before the pool does (claims answered after their fetch was aborted). */
  private readonly pending = new Set<Promise<unknown>>();
  /** Serializes this process's multi-row writes on rows it holds (settle, extend), so two of them never lock the same rows in opposite orders. */
  private heldWrites: Promise<unknown> = Promise.resolve();
  private extending?: Promise<readonly TaskEnvelope[]>;
  /**
   * Lease tokens of deliveries found lost, so each is counted and logged
   * once however often it is extended again; dropped once its (fenced)
   * outcome comes. Tokens are unique per claim; the oldest go past LOST_KEPT.
   */
  private readonly lostTokens = new Set<string>();
  /**
   * Outcomes whose publish failed without an answer (the connection broke):
   * that try may have been committed. Their retry, if fenced, is reported as
   * such rather than as a takeover by another consumer.
   */
  private readonly unanswered = new WeakSet<TaskOutcome>();
  private lastIdleErrorAt = 0;
  private closing?: Promise<void>;

  constructor(@Optional() @Inject(POSTGRES_TASK_CLIENT_OPTIONS) options?: PostgresTaskClientOptions) {
    this.settings = resolvePostgresOptions(options);
    ({ leaseMs: this.leaseMs, schema: this.schema, queue: this.queue, logger: this.logger } = this.settings);
    this.sql = new PostgresStatements(this.schema);
    this.ownsPool = this.settings.pool === undefined;
    this.pool = this.settings.pool ?? new (loadPg().Pool)(this.settings.poolConfig);
    // An idle pooled connection that breaks (server restart) is emitted as
    // 'error' on the pool; with no listener that would end the process. The
    // pool drops the connection itself and makes a new one when needed.
    this.pool.on('error', this.onIdleError);
    this.db = new PostgresDatabase(this.pool, this.sql.table, this.queue);
    this.jobs = new PostgresJobControlStatements(this.schema, this.sql.cancelChannel);
    this.enqueuer = new PostgresEnqueuer(this.db, this.sql, this.jobs, this.queue, this.settings.enqueueChunkSize);
    this.permits = new PostgresPermits(this.db.query, this.jobs, this.queue, this.logger);
    this.schedules = new PostgresSchedules(this.db, this.jobs, this.enqueuer, this.queue);
    this.limits = new AttemptLimits(this.settings.maxAttempts);
    this.maintenance = new PostgresMaintenance(
      this.db.query,
      this.sql,
      this.settings,
      this.counters,
      this.limits,
      this.logger,
    );
    this.fetcher = new PostgresFetcher(
      this.db.query,
      this.sql,
      this.maintenance,
      this.counters,
      this.settings,
      (outcomes) => this.publish(outcomes),
      (work) => this.track(work),
    );
    if (this.settings.listen) {
      this.listener = new PostgresListener(
        this.pool,
        this.sql.listen,
        this.sql.channel,
        this.queue,
        () => this.wakeWatchers(),
        this.logger,
        this.sql.cancelChannel,
        (ids) => this.notifyCancelWatchers(ids),
      );
    }
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
    return this.listener?.listening ?? false;
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
    const [id] = await this.insert([encodeTask({ ...options, name, payload })]);
    return id!;
  }

  /**
   * Adds many tasks in one transaction, `enqueueChunkSize` rows per INSERT:
   * all of them or none. Resolves with their ids in order. An id whose row
   * still exists is left as it is (deduplication), its id returned all the same.
   */
  async enqueueMany(tasks: readonly EnqueueInput[]): Promise<string[]> {
    this.assertOpen('enqueueMany');
    if (!Array.isArray(tasks)) {
      throw new TypeError(
        Messages.enqueueRefused('PostgresTaskClient', `expected an array of tasks, got ${typeof tasks}`),
      );
    }
    return this.insert(tasks.map((task, i) => encodeTask(task, i)));
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
    const { rows } = await this.db.query<RecordRow>(this.sql.get, [this.queue, id]);
    return rows[0] ? toRecord<R>(rows[0]) : undefined;
  }

  /** Tasks of the queue per state (a scan of the queue's rows; for monitoring, not for hot paths). */
  async counts(): Promise<PostgresTaskCounts> {
    const counts: PostgresTaskCounts = { queued: 0, delayed: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
    const { rows } = await this.db.query<{ state: keyof PostgresTaskCounts; n: number }>(this.sql.counts, [this.queue]);
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  /** Dead letters of the queue still kept (`keepFailedMs`), the newest first. */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new TypeError(`PostgresTaskClient.deadLetters(): limit must be a whole number >= 0, got ${String(limit)}.`);
    }
    const { rows } = await this.db.query<DeadLetterRow>(this.sql.deadLetters, [this.queue, limit]);
    return rows.map(toDeadLetter);
  }

  /**
   * Puts a dead letter back in the queue as attempt 1 (its errors kept);
   * resolves false when `id` is not a dead letter of this queue.
   */
  async retryDeadLetter(id: string): Promise<boolean> {
    this.assertOpen('retryDeadLetter');
    const { rows } = await this.db.query(this.sql.retryDeadLetter, [this.queue, id]);
    return rows.length > 0;
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
    if (typeof id !== 'string' || id === '') {
      throw new TypeError(`PostgresTaskClient.cancel(): id must be a non-empty string, got ${JSON.stringify(id)}.`);
    }
    const { rows } = await this.db.query<{ was: string }>(this.jobs.cancel, [
      this.queue,
      id,
      this.settings.keepCompletedMs,
    ]);
    if (rows.length === 0) return false;
    // Without LISTEN, at least this process's own loop hears of it (others: at their next extension).
    if (rows[0]!.was === 'running' && !this.listening) this.notifyCancelWatchers([id]);
    return true;
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
    const id = await this.schedules.fire(fire);
    if (id !== undefined && !this.listening) this.wakeWatchers();
    return id;
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
    const { columns, sent } = settleColumns(outcomes, (task, reason) =>
      this.logger.warn(Messages.pgResultNotJson(task.name, task.id, reason)),
    );
    if (sent === 0) return Promise.resolve();
    return this.serialHeldWrite(async () => {
      const { keepCompletedMs, keepFailedMs } = this.settings;
      let rows: Array<Record<'completed' | 'failed' | 'retried' | 'released' | 'cancelled', string[]>>;
      try {
        ({ rows } = await this.db.query(this.sql.settle, [this.queue, keepCompletedMs, keepFailedMs, ...columns]));
      } catch (error) {
        // No answer is not a no: the statement may have been committed.
        for (const outcome of outcomes) this.unanswered.add(outcome);
        throw error;
      }
      const { completed, failed, retried, released, cancelled } = rows[0]!;
      const applied = new Set([...completed, ...failed, ...retried, ...released, ...cancelled]);
      const missed = outcomes.filter(
        (outcome) => typeof outcome.task.receipt === 'string' && !applied.has(outcome.task.id),
      );
      for (const outcome of outcomes) {
        if (applied.has(outcome.task.id)) this.lostTokens.delete(outcome.task.receipt as string);
      }
      // Permits end with the outcome: deleting their rows is only tidying (a
      // permit counts only while its delivery holds a running row), so it
      // does not hold up the next held write (only deliveries that held one
      // cost a statement).
      if (this.permits.holding) this.track(this.permits.release(outcomes));
      if (missed.length === 0) return;
      const settledStates = await this.settledByUs(missed.map((outcome) => outcome.task));
      const recorded = new Set<number>();
      let stale = 0;
      let uncertain = 0;
      let reported = 0;
      for (const [i, outcome] of missed.entries()) {
        const lostBefore = this.lostTokens.delete(outcome.task.receipt as string);
        const state = settledStates.get(i);
        // Cancelled while this process held it: the outcome is fenced, as it
        // should be, and that is no news (the cancelled outcome itself closes it).
        if (state === 'cancelled') continue;
        if (state !== undefined) {
          recorded.add(i);
          continue;
        }
        // Found lost by extendLeases(), which logged it: counted, not logged again.
        if (lostBefore) reported++;
        else if (this.unanswered.has(outcome)) uncertain++;
        else stale++;
      }
      this.counters.staleOutcomes += stale + uncertain + reported;
      if (recorded.size > 0) this.logger.log(Messages.pgOutcomesRecorded(recorded.size));
      if (uncertain > 0) this.logger.warn(Messages.pgOutcomesUncertain(uncertain, this.leaseMs));
      if (stale > 0) this.logger.warn(Messages.pgStaleOutcomes(stale, this.leaseMs));
    });
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
    if (this.extending) return this.extending;
    const held: TaskEnvelope[] = [];
    for (const task of tasks) if (typeof task.receipt === 'string') held.push(task);
    if (held.length === 0 || this.closing) return Promise.resolve([]);
    const ids = held.map((task) => task.id);
    const tokens = held.map((task) => task.receipt as string);
    this.extending = this.serialHeldWrite(async () => {
      const { rows } = await this.db.query<{ ord: number }>(this.sql.extend, [this.queue, ids, tokens, this.leaseMs]);
      const extended = new Set(rows.map((row) => row.ord - 1));
      const missed = held.filter((_, i) => !extended.has(i));
      if (missed.length === 0) return [];
      const settled = await this.settledByUs(missed);
      // Cancelled while held: lost too, so the loop stops it even if it
      // missed the notice (the loop ignores it once it has published its
      // outcome); but not a lost lease, so neither counted nor warned about.
      const cancelled = missed.filter((_, i) => settled.get(i) === 'cancelled');
      const lost = missed.filter((_, i) => !settled.has(i));
      const fresh = lost.filter((task) => !this.lostTokens.has(task.receipt as string));
      for (const task of fresh) this.lostTokens.add(task.receipt as string);
      for (const token of this.lostTokens) {
        if (this.lostTokens.size <= LOST_KEPT) break;
        this.lostTokens.delete(token);
      }
      if (fresh.length > 0) {
        this.counters.lostLeases += fresh.length;
        this.logger.warn(Messages.pgLostLeases(fresh.length, this.leaseMs));
      }
      return cancelled.length > 0 ? [...lost, ...cancelled] : lost;
    }).finally(() => (this.extending = undefined));
    return this.extending;
  }

  /**
   * Records that these deliveries reached a worker thread, in one
   * statement: from now on their lease running out charges an attempt.
   * Deliveries never marked (prefetched by a process that died) go back
   * uncharged, within a bound (see the take-back statement).
   */
  markStarted(tasks: readonly TaskEnvelope[]): Promise<void> {
    const ids: string[] = [];
    const tokens: string[] = [];
    for (const task of tasks) {
      if (typeof task.receipt !== 'string') continue;
      ids.push(task.id);
      tokens.push(task.receipt);
    }
    if (ids.length === 0 || this.closing) return Promise.resolve();
    return this.serialHeldWrite(async () => {
      await this.db.query(this.sql.markStarted, [this.queue, ids, tokens]);
    });
  }

  /**
   * Stores the latest progress of running deliveries in one statement,
   * fenced by their lease tokens (a delivery that lost its lease, or whose
   * task was cancelled, writes nothing). A value JSON cannot carry is
   * dropped with a warning.
   */
  reportProgress(updates: readonly ProgressUpdate[]): Promise<void> {
    const latest = new Map<string, { token: string; text: string | null }>();
    for (const { task, value } of updates) {
      if (typeof task.receipt !== 'string') continue;
      const json = encodeJson(value);
      if (!json.ok) {
        this.logger.warn(
          `PostgresTaskClient dropped a progress value of task "${task.name}" (${task.id}) that is not JSON-compatible: ${json.problem}.`,
        );
        continue;
      }
      if (json.text !== undefined && json.text.length > MAX_PROGRESS_CHARS) {
        this.logger.warn(
          `PostgresTaskClient dropped a progress value of task "${task.name}" (${task.id}) of ${json.text.length} characters as JSON (at most ${MAX_PROGRESS_CHARS}): report a summary, keep the data elsewhere.`,
        );
        continue;
      }
      latest.set(task.id, { token: task.receipt, text: json.text ?? null });
    }
    if (latest.size === 0 || this.closing) return Promise.resolve();
    const ids = [...latest.keys()];
    const values = [...latest.values()];
    // Through the held-writes queue: it locks rows this process also settles and extends.
    return this.serialHeldWrite(async () => {
      await this.db.query(this.jobs.progress, [this.queue, ids, values.map((v) => v.token), values.map((v) => v.text)]);
    });
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
    this.watchers.add(onAvailable);
    this.listener?.start();
    return () => {
      this.watchers.delete(onAvailable);
      this.stopListeningIfUnwatched();
    };
  }

  /**
   * Calls `onCancel` with the ids of tasks cancelled while running, in any
   * process of the queue, as their NOTIFY arrives on the LISTEN connection
   * (with `listen: false`, only cancels made through this client). A notice
   * missed while the connection was down is made up for by the next lease
   * extension, which reports a cancelled delivery lost.
   */
  watchCancels(onCancel: (ids: readonly string[]) => void): () => void {
    this.cancelWatchers.add(onCancel);
    this.listener?.start();
    return () => {
      this.cancelWatchers.delete(onCancel);
      this.stopListeningIfUnwatched();
    };
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
      await this.listener?.stop();
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      if (this.ownsPool) await this.pool.end();
      // pool.end() resolves before the sockets are closed: a server going
      // down right then still emits 'error' on the pool, so our own pool
      // keeps its listener for good. Yours gets its own listeners back.
      else this.pool.off('error', this.onIdleError);
    })();
    return this.closing;
  }

  /** Nest calls this after every `onModuleDestroy()`, so the worker loop has flushed its outcomes by then. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  private async insert(rows: readonly EnqueueRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const ids = await this.enqueuer.insert(rows);
    // Without LISTEN, at least this process's own loop hears of its enqueues.
    if (!this.listening) this.wakeWatchers();
    return ids;
  }

  /**
   * Positions in `tasks` of the deliveries these claims settled themselves,
   * or that were cancelled while they held them, with the row's state (see
   * the settledBy statement).
   */
  private async settledByUs(tasks: readonly TaskEnvelope[]): Promise<Map<number, string>> {
    const { rows } = await this.db.query<{ ord: number; state: string }>(this.sql.settledBy, [
      this.queue,
      tasks.map((task) => task.id),
      tasks.map((task) => task.receipt as string),
    ]);
    return new Map(rows.map((row) => [row.ord - 1, row.state]));
  }

  private notifyCancelWatchers(ids: readonly string[]): void {
    for (const watcher of this.cancelWatchers) {
      try {
        watcher(ids);
      } catch (error) {
        this.logger.warn(`A cancel watcher threw: ${String((error as Error)?.message ?? error)}`);
      }
    }
  }

  private stopListeningIfUnwatched(): void {
    if (this.watchers.size === 0 && this.cancelWatchers.size === 0) this.track(this.listener?.stop());
  }

  private serialHeldWrite<T>(write: () => Promise<T>): Promise<T> {
    const run = this.heldWrites.then(write, write);
    this.heldWrites = run.catch(() => undefined);
    return run;
  }

  private track(work: Promise<unknown> | undefined): void {
    if (!work) return;
    const tracked = work.catch((error: unknown) =>
      this.logger.warn(Messages.pgConnectionError('release', String((error as Error)?.message ?? error))),
    );
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private wakeWatchers(): void {
    for (const watcher of this.watchers) watcher();
  }

  private readonly onIdleError = (error: Error): void => {
    if (this.closing) return;
    const now = Date.now();
    if (now - this.lastIdleErrorAt < 5000) return; // a restart breaks every idle connection at once: log it once
    this.lastIdleErrorAt = now;
    this.logger.warn(Messages.pgConnectionError('idle pooled', error.message));
  };

  private assertOpen(method: string): void {
    if (this.closing) throw new Error(Messages.pgClosed(method));
  }
}

/** Longest progress value stored, as JSON text: progress is a status line, rewritten often, not a result. */
const MAX_PROGRESS_CHARS = 65_536;

/** Lost lease tokens remembered for counting each once; past this, the oldest are forgotten. */
const LOST_KEPT = 100_000;

/** `pg` is an optional peer dependency: loaded only when the client has to make a pool. */
function loadPg(): typeof import('pg') {
  try {
    return packageRequire('pg') as typeof import('pg');
  } catch (error) {
    throw new PostgresDependencyError((error as Error).message, { cause: error });
  }
}
