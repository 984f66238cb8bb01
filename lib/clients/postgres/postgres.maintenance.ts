import type { LoggerService } from '@nestjs/common';
import { Messages } from '../../errors/error-messages.js';
import { serializeError } from '../../boundary/error.serializer.js';
import { LeaseExpiredError } from '../../errors/worker.errors.js';
import type { AttemptLimits } from '../kit/attempt-limits.registry.js';
import { errorJson } from '../kit/json.encoder.js';
import type { Run } from './postgres.database.js';
import type { PostgresStatements } from './postgres.statements.js';
import type { PostgresTaskClientStats } from './postgres-task-client-options.interface.js';
import type { ResolvedPostgresOptions } from './postgres-task-client-options.resolver.js';

const REAP_BATCH = 500;
const CLEANUP_BATCH = 5000;

interface ExpiredRow {
  id: string;
  name: string;
  attempt: number;
  /** Null for a row written as `running` without a lease. */
  token: string | null;
}

/**
 * The two jobs every consuming process shares, with no coordinator: taking
 * back leases that ran out, and deleting finished rows past their retention.
 * Both are safe to run from any number of processes at once (fenced and
 * SKIP LOCKED statements); running them more often than needed costs one
 * indexed query.
 */
export class PostgresMaintenance {
  private nextReapAt = 0;
  private cleanupTimer?: NodeJS.Timeout;

  constructor(
    private readonly query: Run,
    private readonly sql: PostgresStatements,
    private readonly settings: ResolvedPostgresOptions,
    private readonly stats: PostgresTaskClientStats,
    private readonly limits: AttemptLimits,
    private readonly logger: LoggerService,
  ) {}

  /**
   * Takes back leases that ran out, at most every `leaseMs / 4` (within
   * 100 ms .. 5 s) per process. A delivery that had started (start mark)
   * counts as a failed attempt (a `LeaseExpiredError` in the row's errors):
   * the row is queued again as the next attempt at once, or, on its last
   * attempt, dead-lettered with reason 'crash' (see AttemptLimits for whose
   * limit counts). So a task that kills its process every time ends up dead
   * instead of taking the fleet down one process at a time, forever. One
   * that never started goes back as it was, and already once nobody extended
   * it for half a lease (see the takeBack statement for the bound on that).
   *
   * Read first without locks, then an update fenced by the token read: if
   * the holder extended or settled the row in between, nothing happens.
   */
  async reapIfDue(): Promise<void> {
    const now = Date.now();
    if (now < this.nextReapAt) return;
    const { leaseMs, keepFailedMs, queue } = this.settings;
    this.nextReapAt = now + Math.min(5000, Math.max(100, Math.floor(leaseMs / 4)));
    try {
      const { rows } = await this.query<ExpiredRow>(this.sql.expired, [queue, REAP_BATCH, leaseMs / 2]);
      if (rows.length === 0) return;
      const ids = rows.map((row) => row.id);
      const tokens = rows.map((row) => row.token);
      const errors = rows.map((row) =>
        errorJson(serializeError(new LeaseExpiredError(row.name, row.attempt, leaseMs))),
      );
      const { names, limits } = this.limits.columns();
      const taken = await this.query<{ id: string; state: string; charged: boolean }>(this.sql.takeBack, [
        queue,
        ids,
        tokens,
        errors,
        names,
        limits,
        this.limits.fallback,
        keepFailedMs,
      ]);
      this.stats.expiredLeases += taken.rows.length;
      this.stats.unchargedExpiries += taken.rows.filter((row) => !row.charged).length;
      const dead = taken.rows.filter((row) => row.state === 'failed').map((row) => row.id);
      if (dead.length > 0) this.logger.warn(Messages.pgLeaseAttemptsExhausted(dead.length, dead));
      // A full batch: more may have run out; look again on the next fetch.
      if (rows.length === REAP_BATCH) this.nextReapAt = 0;
    } catch (error) {
      // Claiming goes on; it fails by itself if the database is away.
      this.logger.warn(Messages.pgConnectionError('lease check', String((error as Error)?.message ?? error)));
    }
  }

  /** Deletes finished rows past their retention, in chunks; resolves with how many. */
  async cleanup(): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.query(this.sql.cleanup, [this.settings.queue, CLEANUP_BATCH]);
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < CLEANUP_BATCH) break;
    }
    this.stats.cleanedUp += total;
    return total;
  }

  /** Starts the periodic cleanup (once; a consuming process calls it on its first fetch). */
  startCleanup(): void {
    if (this.cleanupTimer || this.settings.cleanupIntervalMs === 0) return;
    let running = false;
    this.cleanupTimer = setInterval(() => {
      if (running) return;
      running = true;
      this.cleanup()
        .catch((error: unknown) =>
          this.logger.warn(Messages.pgConnectionError('cleanup', String((error as Error)?.message ?? error))),
        )
        .finally(() => (running = false));
    }, this.settings.cleanupIntervalMs);
    this.cleanupTimer.unref();
  }

  stop(): void {
    clearInterval(this.cleanupTimer);
  }
}
