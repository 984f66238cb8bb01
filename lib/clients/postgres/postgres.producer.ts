import { Messages } from '../../errors/error-messages.js';
import type { DeadLetter, ScheduleFire, TaskRecord } from '../../interfaces/task-store.interface.js';
import {
  encodeTask,
  toDeadLetter,
  toRecord,
  type DeadLetterRow,
  type EnqueueInput,
  type EnqueueRow,
  type RecordRow,
} from './postgres.codec.js';
import type { PostgresDatabase } from './postgres.database.js';
import { PostgresEnqueuer } from './postgres.enqueuer.js';
import type { PostgresJobControlStatements } from './postgres-job-control.statements.js';
import { PostgresSchedules } from './postgres.schedules.js';
import type { PostgresStatements } from './postgres.statements.js';
import type { PostgresEnqueueOptions, PostgresTaskCounts } from './postgres-task-client-options.interface.js';
import type { PostgresWatchers } from './postgres.watchers.js';

/**
 * The producer side of PostgresTaskClient (which documents each method):
 * adds tasks (unique keys and chunking in PostgresEnqueuer), cancels them,
 * fires schedule ticks, puts dead letters back, and reads rows for
 * monitoring. Consuming processes hear of its writes by NOTIFY; without a
 * LISTEN connection, this process's own loops are told directly.
 */
export class PostgresProducer {
  private readonly enqueuer: PostgresEnqueuer;
  private readonly schedules: PostgresSchedules;

  constructor(
    private readonly db: PostgresDatabase,
    private readonly sql: PostgresStatements,
    private readonly jobs: PostgresJobControlStatements,
    private readonly settings: { queue: string; enqueueChunkSize: number; keepCompletedMs: number },
    private readonly watchers: PostgresWatchers,
  ) {
    this.enqueuer = new PostgresEnqueuer(db, sql, jobs, settings.queue, settings.enqueueChunkSize);
    this.schedules = new PostgresSchedules(db, jobs, this.enqueuer, settings.queue);
  }

  async enqueue(name: string, payload: unknown, options: PostgresEnqueueOptions): Promise<string> {
    const [id] = await this.insert([encodeTask({ ...options, name, payload })]);
    return id!;
  }

  enqueueMany(tasks: readonly EnqueueInput[]): Promise<string[]> {
    if (!Array.isArray(tasks)) {
      throw new TypeError(
        Messages.enqueueRefused('PostgresTaskClient', `expected an array of tasks, got ${typeof tasks}`),
      );
    }
    return this.insert(tasks.map((task, i) => encodeTask(task, i)));
  }

  async get<R>(id: string): Promise<TaskRecord<R> | undefined> {
    const { rows } = await this.db.query<RecordRow>(this.sql.get, [this.settings.queue, id]);
    return rows[0] ? toRecord<R>(rows[0]) : undefined;
  }

  async counts(): Promise<PostgresTaskCounts> {
    const counts: PostgresTaskCounts = { queued: 0, delayed: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
    const { rows } = await this.db.query<{ state: keyof PostgresTaskCounts; n: number }>(this.sql.counts, [
      this.settings.queue,
    ]);
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new TypeError(`PostgresTaskClient.deadLetters(): limit must be a whole number >= 0, got ${String(limit)}.`);
    }
    const { rows } = await this.db.query<DeadLetterRow>(this.sql.deadLetters, [this.settings.queue, limit]);
    return rows.map(toDeadLetter);
  }

  async retryDeadLetter(id: string): Promise<boolean> {
    const { rows } = await this.db.query(this.sql.retryDeadLetter, [this.settings.queue, id]);
    return rows.length > 0;
  }

  async cancel(id: string): Promise<boolean> {
    if (typeof id !== 'string' || id === '') {
      throw new TypeError(`PostgresTaskClient.cancel(): id must be a non-empty string, got ${JSON.stringify(id)}.`);
    }
    const { queue, keepCompletedMs } = this.settings;
    const { rows } = await this.db.query<{ was: string }>(this.jobs.cancel, [queue, id, keepCompletedMs]);
    if (rows.length === 0) return false;
    // Without LISTEN, at least this process's own loop hears of it (others: at their next extension).
    if (rows[0]!.was === 'running' && !this.watchers.listening) this.watchers.cancelled([id]);
    return true;
  }

  async fireSchedule(fire: ScheduleFire): Promise<string | undefined> {
    const id = await this.schedules.fire(fire);
    if (id !== undefined && !this.watchers.listening) this.watchers.wake();
    return id;
  }

  private async insert(rows: readonly EnqueueRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const ids = await this.enqueuer.insert(rows);
    // Without LISTEN, at least this process's own loop hears of its enqueues.
    if (!this.watchers.listening) this.watchers.wake();
    return ids;
  }
}
