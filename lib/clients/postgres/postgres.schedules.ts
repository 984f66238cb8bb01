import type { ScheduleFire } from '../../interfaces/task-store.interface.js';
import { encodeTask } from './postgres.codec.js';
import type { PostgresDatabase } from './postgres.database.js';
import type { PostgresEnqueuer } from './postgres.enqueuer.js';
import type { PostgresJobControlStatements } from './postgres-job-control.statements.js';

/**
 * Schedule fires (`fireSchedule`): a marker per queue and schedule key in
 * the `schedules` table holds the latest tick. Moving the marker forward and
 * enqueueing the fire are one transaction, so a tick is fired once however
 * many processes offer it, and never recorded without its task (a process
 * that dies in between leaves both undone for the next offer).
 */
export class PostgresSchedules {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly jobs: PostgresJobControlStatements,
    private readonly enqueuer: PostgresEnqueuer,
    private readonly queue: string,
  ) {}

  async fire(fire: ScheduleFire): Promise<string | undefined> {
    if (fire === null || typeof fire !== 'object') {
      throw new TypeError('PostgresTaskClient.fireSchedule(): pass { key, tick, task, whenNew }.');
    }
    const { key, tick, whenNew } = fire;
    if (typeof key !== 'string' || key === '' || key.length > 512) {
      throw new TypeError(
        `PostgresTaskClient.fireSchedule(): key must be a non-empty string of at most 512 characters, got ${JSON.stringify(key)}.`,
      );
    }
    if (typeof tick !== 'number' || !Number.isFinite(tick)) {
      throw new TypeError(`PostgresTaskClient.fireSchedule(): tick must be epoch milliseconds, got ${String(tick)}.`);
    }
    if (whenNew !== 'fire' && whenNew !== 'record') {
      throw new TypeError(
        `PostgresTaskClient.fireSchedule(): whenNew must be 'fire' or 'record', got ${JSON.stringify(whenNew)}.`,
      );
    }
    // Checked (and its id made) before the transaction: a bad task writes nothing.
    const row = encodeTask(fire.task);
    let id: string | undefined;
    await this.db.transaction(async (run) => {
      const { rows } = await run<{ only_recorded: boolean }>(this.jobs.markSchedule, [
        this.queue,
        key,
        Math.trunc(tick),
        whenNew === 'fire',
      ]);
      // No row: the marker is at this tick or later (another process fired it).
      if (rows.length === 0 || rows[0]!.only_recorded) return;
      [id] = await this.enqueuer.write([row], run);
    });
    return id;
  }
}
