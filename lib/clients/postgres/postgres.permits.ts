import type { LoggerService } from '@nestjs/common';
import type { PermitAnswer, PermitRequest, TaskOutcome } from '../../interfaces/task-client.interface.js';
import type { Run } from './postgres.database.js';
import type { PostgresJobControlStatements } from './postgres-job-control.statements.js';

/**
 * How long a delivery denied for a busy concurrency key waits before it is
 * offered again. Short: a slot frees whenever a holder publishes, which no
 * store notice announces.
 */
export const KEY_BUSY_RETRY_MS = 200;
/** Permit tokens remembered for releasing them on publish; past this the oldest are forgotten (their rows are swept by cleanup()). */
const HELD_KEPT = 100_000;

const GRANTED: PermitAnswer = Object.freeze({ granted: true });

/**
 * Rate limits and concurrency keys across processes (`acquirePermits`): one
 * statement per batch of requests, answered by the acquire_permits function
 * of migration 4 under a lock per queue and task name. Tasks without limits
 * never reach the database here, and outcomes of deliveries without a permit
 * cost nothing more to publish.
 */
export class PostgresPermits {
  /** Lease tokens of deliveries this process got a concurrency permit for, until their outcome is published. */
  private readonly held = new Set<string>();

  constructor(
    private readonly query: Run,
    private readonly jobs: PostgresJobControlStatements,
    private readonly queue: string,
    private readonly logger: LoggerService,
  ) {}

  /** Whether this process holds any permit (publish asks before it looks at its outcomes). */
  get holding(): boolean {
    return this.held.size > 0;
  }

  async acquire(requests: readonly PermitRequest[]): Promise<PermitAnswer[]> {
    const answers: PermitAnswer[] = requests.map(() => GRANTED);
    const asked: number[] = [];
    const columns: unknown[][] = [[], [], [], [], [], [], []];
    for (const [i, request] of requests.entries()) {
      const { task } = request;
      const rate = checkedRate(request.rateLimit);
      if (request.concurrencyPerKey !== undefined && !isCount(request.concurrencyPerKey)) {
        throw new TypeError(
          `PostgresTaskClient.acquirePermits(): concurrencyPerKey must be a whole number >= 1, got ${String(request.concurrencyPerKey)}.`,
        );
      }
      // A task enqueued without a concurrencyKey is not limited by concurrencyPerKey.
      const perKey = typeof task.concurrencyKey === 'string' ? request.concurrencyPerKey : undefined;
      // Nothing to enforce, or not a delivery of this client (no lease token to hang a permit on).
      if ((!rate && perKey === undefined) || typeof task.receipt !== 'string') continue;
      asked.push(i);
      const values = [
        task.id,
        task.receipt,
        task.name,
        task.concurrencyKey ?? null,
        rate?.max ?? null,
        rate?.intervalMs ?? null,
        perKey ?? null,
      ];
      values.forEach((value, column) => columns[column]!.push(value));
    }
    if (asked.length === 0) return answers;
    const { rows } = await this.query<{ ord: number; granted: boolean; retry_after_ms: number }>(
      this.jobs.acquirePermits,
      [this.queue, ...columns, KEY_BUSY_RETRY_MS],
    );
    for (const row of rows) {
      const i = asked[row.ord - 1]!;
      if (row.granted) {
        const { task } = requests[i]!;
        if (columns[6]![row.ord - 1] !== null) this.hold(task.receipt as string);
        continue;
      }
      answers[i] = { granted: false, retryAfterMs: Math.max(1, Math.ceil(Number(row.retry_after_ms))) };
    }
    return answers;
  }

  /**
   * Deletes the permits of these published outcomes. Only tidying: a permit
   * counts only while its delivery holds its lease on a running row, which
   * the outcome has just ended. So a failure here is logged, not thrown.
   */
  async release(outcomes: readonly TaskOutcome[]): Promise<void> {
    if (this.held.size === 0) return;
    const tokens: string[] = [];
    for (const { task } of outcomes) {
      if (typeof task.receipt === 'string' && this.held.delete(task.receipt)) tokens.push(task.receipt);
    }
    if (tokens.length === 0) return;
    await this.query(this.jobs.releasePermits, [this.queue, tokens]).catch((error: unknown) =>
      this.logger.warn(
        `PostgresTaskClient could not delete ${tokens.length} concurrency permit(s) after their outcome (${String((error as Error)?.message ?? error)}); they count for nothing and cleanup() removes them.`,
      ),
    );
  }

  /** Permits of deliveries that lost their lease without an outcome (a process that died); for cleanup(). */
  async sweep(): Promise<number> {
    const { rowCount } = await this.query(this.jobs.strayPermits, [this.queue]);
    return rowCount ?? 0;
  }

  private hold(token: string): void {
    this.held.add(token);
    if (this.held.size <= HELD_KEPT) return;
    for (const oldest of this.held) {
      this.held.delete(oldest);
      break;
    }
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1;
}

function checkedRate(rate: PermitRequest['rateLimit']): { max: number; intervalMs: number } | undefined {
  if (rate === undefined) return undefined;
  if (rate === null || typeof rate !== 'object' || !isCount(rate.max) || !isCount(rate.intervalMs)) {
    throw new TypeError(
      `PostgresTaskClient.acquirePermits(): rateLimit must be { max, intervalMs }, whole numbers >= 1, got ${JSON.stringify(rate)}.`,
    );
  }
  return { max: rate.max, intervalMs: rate.intervalMs };
}
