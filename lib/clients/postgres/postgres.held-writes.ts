import type { LoggerService } from '@nestjs/common';
import { Messages } from '../../errors/error-messages.js';
import type { ProgressUpdate, TaskEnvelope, TaskOutcome } from '../../interfaces/task-client.interface.js';
import { encodeJson } from '../kit/json.encoder.js';
import { settleColumns } from './postgres.codec.js';
import type { Run } from './postgres.database.js';
import type { PostgresJobControlStatements } from './postgres-job-control.statements.js';
import type { PostgresPermits } from './postgres.permits.js';
import type { PostgresStatements } from './postgres.statements.js';
import type { PostgresTaskClientStats } from './postgres-task-client-options.interface.js';

/** Longest progress value stored, as JSON text: progress is a status line, rewritten often, not a result. */
const MAX_PROGRESS_CHARS = 65_536;

/** Lost lease tokens remembered for counting each once; past this, the oldest are forgotten. */
const LOST_KEPT = 100_000;

/**
 * The consumer side's writes on rows this process holds, fenced by their
 * lease tokens (PostgresTaskClient documents each method): outcomes, lease
 * extensions, start marks and progress. Claiming them is PostgresFetcher's.
 */
export class PostgresHeldWrites {
  /** Serializes this process's multi-row writes on rows it holds (settle, extend), so two of them never lock the same rows in opposite orders. */
  private tail: Promise<unknown> = Promise.resolve();
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

  constructor(
    private readonly query: Run,
    private readonly sql: PostgresStatements,
    private readonly jobs: PostgresJobControlStatements,
    private readonly permits: PostgresPermits,
    private readonly counters: PostgresTaskClientStats,
    private readonly settings: {
      queue: string;
      leaseMs: number;
      keepCompletedMs: number;
      keepFailedMs: number;
      logger: LoggerService;
    },
    /** True once the client is closing: extensions, start marks and progress are no longer written. */
    private readonly closing: () => boolean,
    /** Work that must end before the pool does. */
    private readonly track: (work: Promise<unknown>) => void,
  ) {}

  publish(outcomes: readonly TaskOutcome[]): Promise<void> {
    const { queue, leaseMs, keepCompletedMs, keepFailedMs, logger } = this.settings;
    const { columns, sent } = settleColumns(outcomes, (task, reason) =>
      logger.warn(Messages.pgResultNotJson(task.name, task.id, reason)),
    );
    if (sent === 0) return Promise.resolve();
    return this.serial(async () => {
      let rows: Array<Record<'completed' | 'failed' | 'retried' | 'released' | 'cancelled', string[]>>;
      try {
        ({ rows } = await this.query(this.sql.settle, [queue, keepCompletedMs, keepFailedMs, ...columns]));
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
      if (recorded.size > 0) logger.log(Messages.pgOutcomesRecorded(recorded.size));
      if (uncertain > 0) logger.warn(Messages.pgOutcomesUncertain(uncertain, leaseMs));
      if (stale > 0) logger.warn(Messages.pgStaleOutcomes(stale, leaseMs));
    });
  }

  extendLeases(tasks: readonly TaskEnvelope[]): Promise<readonly TaskEnvelope[]> {
    if (this.extending) return this.extending;
    const held: TaskEnvelope[] = [];
    for (const task of tasks) if (typeof task.receipt === 'string') held.push(task);
    if (held.length === 0 || this.closing()) return Promise.resolve([]);
    const { queue, leaseMs, logger } = this.settings;
    const ids = held.map((task) => task.id);
    const tokens = held.map((task) => task.receipt as string);
    this.extending = this.serial(async () => {
      const { rows } = await this.query<{ ord: number }>(this.sql.extend, [queue, ids, tokens, leaseMs]);
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
        logger.warn(Messages.pgLostLeases(fresh.length, leaseMs));
      }
      return cancelled.length > 0 ? [...lost, ...cancelled] : lost;
    }).finally(() => (this.extending = undefined));
    return this.extending;
  }

  markStarted(tasks: readonly TaskEnvelope[]): Promise<void> {
    const ids: string[] = [];
    const tokens: string[] = [];
    for (const task of tasks) {
      if (typeof task.receipt !== 'string') continue;
      ids.push(task.id);
      tokens.push(task.receipt);
    }
    if (ids.length === 0 || this.closing()) return Promise.resolve();
    return this.serial(async () => {
      await this.query(this.sql.markStarted, [this.settings.queue, ids, tokens]);
    });
  }

  reportProgress(updates: readonly ProgressUpdate[]): Promise<void> {
    const { logger } = this.settings;
    const latest = new Map<string, { token: string; text: string | null }>();
    for (const { task, value } of updates) {
      if (typeof task.receipt !== 'string') continue;
      const json = encodeJson(value);
      if (!json.ok) {
        logger.warn(
          `PostgresTaskClient dropped a progress value of task "${task.name}" (${task.id}) that is not JSON-compatible: ${json.problem}.`,
        );
        continue;
      }
      if (json.text !== undefined && json.text.length > MAX_PROGRESS_CHARS) {
        logger.warn(
          `PostgresTaskClient dropped a progress value of task "${task.name}" (${task.id}) of ${json.text.length} characters as JSON (at most ${MAX_PROGRESS_CHARS}): report a summary, keep the data elsewhere.`,
        );
        continue;
      }
      latest.set(task.id, { token: task.receipt, text: json.text ?? null });
    }
    if (latest.size === 0 || this.closing()) return Promise.resolve();
    const ids = [...latest.keys()];
    const values = [...latest.values()];
    // Through the held-writes queue: it locks rows this process also settles and extends.
    return this.serial(async () => {
      await this.query(this.jobs.progress, [
        this.settings.queue,
        ids,
        values.map((v) => v.token),
        values.map((v) => v.text),
      ]);
    });
  }

  /**
   * Positions in `tasks` of the deliveries these claims settled themselves,
   * or that were cancelled while they held them, with the row's state (see
   * the settledBy statement).
   */
  private async settledByUs(tasks: readonly TaskEnvelope[]): Promise<Map<number, string>> {
    const { rows } = await this.query<{ ord: number; state: string }>(this.sql.settledBy, [
      this.settings.queue,
      tasks.map((task) => task.id),
      tasks.map((task) => task.receipt as string),
    ]);
    return new Map(rows.map((row) => [row.ord - 1, row.state]));
  }

  private serial<T>(write: () => Promise<T>): Promise<T> {
    const run = this.tail.then(write, write);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
