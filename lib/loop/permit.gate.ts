import type { LoggerService } from '@nestjs/common';
import { MAX_TIMER_MS } from '../common/backoff.js';
import { describeThrown } from '../clients/kit/json.encoder.js';
import { Messages } from '../errors/error-messages.js';
import { TaskLimitsUnsupportedError } from '../errors/worker.errors.js';
import type {
  PermitAnswer,
  PermitRequest,
  RateLimit,
  TaskClient,
  TaskEnvelope,
} from '../interfaces/task-client.interface.js';
import type { RegisteredTask } from '../interfaces/task-client.interface.js';

/** Wait of a delivery denied by its key's concurrency before anything was measured. */
const FIRST_CONCURRENCY_WAIT_MS = 100;
/** Bounds of that wait once run times are known: short enough that a freed slot is soon taken, long enough not to churn. */
const CONCURRENCY_WAIT_MIN_MS = 20;
const CONCURRENCY_WAIT_MAX_MS = 2000;
/** Share of a limited task's typical run time that a denied delivery waits. */
const CONCURRENCY_WAIT_SHARE = 0.5;
/** Wait of every gated delivery after `acquirePermits()` failed (the store is unreachable). */
const FAILED_ASK_WAIT_MS = 1000;
/** Weight of the newest run time in the moving average. */
const WEIGHT = 0.2;

interface Limits {
  readonly rateLimit?: RateLimit;
  readonly concurrencyPerKey?: number;
}

/** What the gate decided for one fetch's limited deliveries. */
export interface GateDecision {
  /** Start these now; each holds its permits until its outcome is published. */
  readonly admit: TaskEnvelope[];
  /** Give these back with `{ status: 'released', delayMs }`: they wait, uncharged. */
  readonly defer: Array<{ readonly task: TaskEnvelope; readonly delayMs: number }>;
}

/**
 * Rate limits and concurrency keys in the worker loop. Before a fetched
 * delivery of a limited task (`@Task({ rateLimit })`, or
 * `concurrencyPerKey` with a `concurrencyKey` on the delivery) reaches the
 * dispatcher, the loop asks the client for its permits, one batch per fetch.
 * The store decides, atomically and across processes; the gate only chooses
 * how long a denied delivery waits before it is fetched again:
 *
 * - Rate: until the window frees a slot (the store's `retryAfterMs`), the
 *   n-th denial of a name in one batch one slot later each (n intervals/max),
 *   so a backlog comes back spread over the window instead of all at once,
 *   to be denied again but one; plus up to 10% jitter against processes in step.
 * - Concurrency: the store cannot know when a running task of the key ends.
 *   Half the task's typical run time (20 ms to 2 s, jittered): the trade-off
 *   is churn against idle slots. Each denial costs one fetch, one ask and one
 *   release, so W waiting deliveries of a busy key cost about W / wait of
 *   those per second; a slot freed stays idle until the next waiter comes
 *   back, about wait / W when many wait. Half a task keeps both small
 *   relative to the work itself.
 *
 * Fairness among keys comes from the store putting a delivery released with
 * a delay behind what waited meanwhile, so other keys' tasks are fetched
 * first. A denied delivery is never charged an attempt and never fails.
 */
export class PermitGate {
  private readonly averageMs = new Map<string, number>();
  private failing = false;

  private constructor(
    private readonly client: TaskClient & { acquirePermits: NonNullable<TaskClient['acquirePermits']> },
    private readonly limits: ReadonlyMap<string, Limits>,
    private readonly logger: LoggerService,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * The gate for the tasks' limits; undefined when no task has one. Throws
   * `TaskLimitsUnsupportedError` naming the tasks when the client cannot
   * enforce them (a limit silently not enforced is worse than a failed boot).
   */
  static create(
    client: TaskClient,
    tasks: readonly RegisteredTask[],
    logger: LoggerService,
    random?: () => number,
  ): PermitGate | undefined {
    const limits = new Map<string, Limits>();
    for (const { name, rateLimit, concurrencyPerKey } of tasks) {
      if (rateLimit || concurrencyPerKey !== undefined) limits.set(name, { rateLimit, concurrencyPerKey });
    }
    if (limits.size === 0) return undefined;
    if (typeof client.acquirePermits !== 'function') {
      throw new TaskLimitsUnsupportedError([...limits.keys()], client.constructor?.name || 'The task client');
    }
    return new PermitGate(client as never, limits, logger, random);
  }

  /** The deliveries of `tasks` that need permits; empty when none does. */
  select(tasks: readonly TaskEnvelope[]): TaskEnvelope[] {
    return tasks.filter((task) => this.request(task) !== undefined);
  }

  /** Asks the client for the permits of `tasks` (all from `select()`), in one batch. */
  async decide(tasks: readonly TaskEnvelope[]): Promise<GateDecision> {
    const requests = tasks.map((task) => this.request(task)!);
    let answers: readonly PermitAnswer[];
    try {
      answers = await this.client.acquirePermits(requests);
      if (!Array.isArray(answers) || answers.length !== requests.length) {
        throw new Error(`it answered ${describeCount(answers)} for ${requests.length} request(s)`);
      }
      if (this.failing) this.logger.log?.(Messages.permitsRecovered());
      this.failing = false;
    } catch (error) {
      // Once per outage: the deliveries wait and are asked for again, nothing fails.
      if (!this.failing) this.logger.warn(Messages.permitsFailed(describeThrown(error), FAILED_ASK_WAIT_MS));
      this.failing = true;
      return { admit: [], defer: tasks.map((task) => ({ task, delayMs: this.jitter(FAILED_ASK_WAIT_MS) })) };
    }
    const admit: TaskEnvelope[] = [];
    const defer: GateDecision['defer'] = [];
    const rateDenials = new Map<string, number>();
    requests.forEach((request, i) => {
      const answer = answers[i]!;
      if (answer.granted) admit.push(request.task);
      else defer.push({ task: request.task, delayMs: this.waitOf(request, answer.retryAfterMs, rateDenials) });
    });
    return { admit, defer };
  }

  /** A limited task ran this long: what a denial for its key waits follows it. */
  ran(name: string, ms: number): void {
    if (!this.limits.get(name)?.concurrencyPerKey || !Number.isFinite(ms) || ms < 0) return;
    const average = this.averageMs.get(name);
    this.averageMs.set(name, average === undefined ? ms : average + (ms - average) * WEIGHT);
  }

  private request(task: TaskEnvelope): PermitRequest | undefined {
    const limits = this.limits.get(task.name);
    if (!limits) return undefined;
    const concurrencyPerKey = task.concurrencyKey !== undefined ? limits.concurrencyPerKey : undefined;
    if (!limits.rateLimit && concurrencyPerKey === undefined) return undefined;
    return {
      task,
      ...(limits.rateLimit ? { rateLimit: limits.rateLimit } : {}),
      ...(concurrencyPerKey !== undefined ? { concurrencyPerKey } : {}),
    };
  }

  private waitOf(request: PermitRequest, retryAfterMs: unknown, rateDenials: Map<string, number>): number {
    const told =
      typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : 1;
    let wait = told;
    if (request.rateLimit) {
      const n = rateDenials.get(request.task.name) ?? 0;
      rateDenials.set(request.task.name, n + 1);
      wait = told + (n * request.rateLimit.intervalMs) / request.rateLimit.max;
    }
    if (request.concurrencyPerKey !== undefined) wait = Math.max(wait, this.concurrencyWait(request.task.name));
    return this.jitter(wait);
  }

  private concurrencyWait(name: string): number {
    const average = this.averageMs.get(name);
    if (average === undefined) return FIRST_CONCURRENCY_WAIT_MS;
    return Math.min(CONCURRENCY_WAIT_MAX_MS, Math.max(CONCURRENCY_WAIT_MIN_MS, average * CONCURRENCY_WAIT_SHARE));
  }

  /** Up to 10% more, at least 1 ms in all, within what a timer can hold. */
  private jitter(ms: number): number {
    return Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(ms * (1 + this.random() * 0.1))));
  }
}

function describeCount(answers: unknown): string {
  return Array.isArray(answers) ? `${answers.length} answer(s)` : `${typeof answers} instead of an array`;
}
