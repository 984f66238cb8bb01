import type { LoggerService } from '@nestjs/common';
import { serializeError } from '../../boundary/error.serializer.js';
import { AttemptLimits } from '../../clients/kit/attempt-limits.registry.js';
import { describeThrown } from '../../clients/kit/json.encoder.js';
import { Messages } from '../../errors/error-messages.js';
import { LeaseExpiredError } from '../../errors/worker.errors.js';
import type {
  PermitAnswer,
  PermitRequest,
  ProgressUpdate,
  RegisteredTask,
  TaskClient,
  TaskEnvelope,
  TaskOutcome,
} from '../../interfaces/task-client.interface.js';

/**
 * Losses of a task's deliveries that never reached a thread (no start mark),
 * on top of its attempt limit, before it is dead-lettered all the same: a
 * task that kills its worker before the start mark is sent must not come
 * back forever. The same bound as the Redis client's.
 */
export const UNNOTED_LOSSES = 3;
/** Retry-after of a permit denied because the delivery's lease is lost (its holder's release of it is dropped anyway). */
const LOST_RETRY_AFTER_MS = 1000;
/** Deliveries remembered as settled by their holder (an extension crossing the publish is no loss), and losses per task. */
const REMEMBERED = 200_000;

interface Held {
  readonly task: TaskEnvelope;
  expiresAt: number;
  started: boolean;
  /** Cancelled in the store while held: its next extension reports it lost. */
  cancelled?: boolean;
}

/** A delivery's identity: the task and the store's receipt of this delivery. */
const keyOf = (task: TaskEnvelope) => `${task.id}\u0000${JSON.stringify(task.receipt) ?? ''}`;

/**
 * Leases for a store that has none (the in-memory client), kept by the
 * server: a remote worker that dies stops extending, and its deliveries go
 * back to the store once their lease runs out — started ones charged an
 * attempt (retried, or dead-lettered as `crash` on their last), the others
 * released as they were (within UNNOTED_LOSSES). An outcome or extension
 * of a delivery whose lease ran out is stale: dropped, and reported lost.
 * The store still fences by its own receipt (a delivery number) behind this.
 *
 * Whatever the store ties to a delivery (a concurrency permit) ends with
 * the outcome the keeper hands it: the holder's, or the keeper's own when
 * it decides the lease lost (ran out, or the task was cancelled), so a
 * remote worker that died never strands a permit.
 */
export class LeaseKeepingStore implements TaskClient {
  private readonly held = new Map<string, Held>();
  /** Settled by their holder, with when: an extension that crossed the publish is not a loss. */
  private readonly settled = new Map<string, number>();
  private readonly unnoted = new Map<string, number>();
  private readonly limits: AttemptLimits;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: TaskClient,
    readonly leaseMs: number,
    maxAttempts: number,
    private readonly logger: LoggerService,
  ) {
    this.limits = new AttemptLimits(maxAttempts);
    this.timer = setInterval(() => void this.sweep(), Math.max(20, Math.floor(leaseMs / 4)));
    this.timer.unref();
  }

  async fetch(max: number, signal: AbortSignal): Promise<readonly TaskEnvelope[]> {
    const tasks = await this.store.fetch(max, signal);
    const expiresAt = Date.now() + this.leaseMs;
    for (const task of tasks) this.held.set(keyOf(task), { task, expiresAt, started: false });
    return tasks;
  }

  async publish(outcomes: readonly TaskOutcome[]): Promise<void> {
    const now = Date.now();
    const forward: TaskOutcome[] = [];
    for (const outcome of outcomes) {
      const key = keyOf(outcome.task);
      const held = this.held.get(key);
      // Not held: settled already (a resent batch), or its lease ran out and the task went back.
      if (!held) continue;
      this.held.delete(key);
      // A cancelled delivery is not settled by its holder's outcome (the store
      // fences it): its holder's extensions keep reporting it lost.
      if (!held.cancelled) this.settled.set(key, now);
      if (outcome.status !== 'released' && outcome.status !== 'retry') this.unnoted.delete(outcome.task.id);
      forward.push({ ...outcome, task: held.task });
    }
    if (forward.length > 0) await this.store.publish(forward);
  }

  async extendLeases(tasks: readonly TaskEnvelope[]): Promise<readonly TaskEnvelope[]> {
    const expiresAt = Date.now() + this.leaseMs;
    const closed: TaskOutcome[] = [];
    const lost = tasks.filter((task) => {
      const key = keyOf(task);
      const held = this.held.get(key);
      if (held?.cancelled) {
        // The holder missed the cancel notice (or has not acted on it yet):
        // its lease is lost from now, and the delivery is closed in the store
        // here, as the holder will publish nothing for a lost lease.
        this.held.delete(key);
        closed.push({ status: 'cancelled', task: held.task, started: held.started });
        return true;
      }
      if (held) held.expiresAt = expiresAt;
      return !held && !this.settled.has(key);
    });
    if (closed.length > 0) await this.store.publish(closed);
    return lost;
  }

  async markStarted(tasks: readonly TaskEnvelope[]): Promise<void> {
    for (const task of tasks) {
      const held = this.held.get(keyOf(task));
      if (held) held.started = true;
    }
  }

  /** Progress of the deliveries still held (a lost one changes nothing), with the store's own envelopes. */
  async reportProgress(updates: readonly ProgressUpdate[]): Promise<void> {
    const forward: ProgressUpdate[] = [];
    for (const update of updates) {
      const held = this.held.get(keyOf(update.task));
      if (held && !held.cancelled) forward.push({ ...update, task: held.task });
    }
    if (forward.length > 0) await this.store.reportProgress!(forward);
  }

  /**
   * Permits for deliveries still held, asked of the store with its own
   * envelopes; a delivery whose lease is lost is denied (its holder gives it
   * back with a released outcome, which is dropped as stale).
   */
  async acquirePermits(requests: readonly PermitRequest[]): Promise<readonly PermitAnswer[]> {
    const answers: PermitAnswer[] = requests.map(() => ({ granted: false, retryAfterMs: LOST_RETRY_AFTER_MS }));
    const asked: PermitRequest[] = [];
    const at: number[] = [];
    requests.forEach((request, i) => {
      const held = this.held.get(keyOf(request.task));
      if (!held || held.cancelled) return;
      asked.push({ ...request, task: held.task });
      at.push(i);
    });
    if (asked.length === 0) return answers;
    const granted = await this.store.acquirePermits!(asked);
    granted.forEach((answer, j) => (answers[at[j]!] = answer));
    return answers;
  }

  watchCancels(onCancel: (ids: readonly string[]) => void): () => void {
    return this.store.watchCancels?.(onCancel) ?? (() => undefined);
  }

  /** These tasks were cancelled in the store: their held deliveries are lost at their next extension. */
  cancelled(ids: readonly string[]): void {
    const cancelled = new Set(ids);
    for (const held of this.held.values()) if (cancelled.has(held.task.id)) held.cancelled = true;
  }

  registerTasks(tasks: readonly RegisteredTask[]): void {
    this.limits.register('GrpcTaskServer', tasks);
    this.store.registerTasks?.(tasks);
  }

  watch(onAvailable: () => void): () => void {
    return this.store.watch?.(onAvailable) ?? (() => undefined);
  }

  get canWatch(): boolean {
    return typeof this.store.watch === 'function';
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Gives back to the store what nobody extended for a lease. */
  private async sweep(): Promise<void> {
    const now = Date.now();
    const outcomes: TaskOutcome[] = [];
    for (const [key, held] of this.held) {
      if (held.expiresAt > now) continue;
      this.held.delete(key);
      outcomes.push(this.expired(held));
    }
    for (const [key, at] of this.settled) {
      if (at > now - 2 * this.leaseMs && this.settled.size <= REMEMBERED) break;
      this.settled.delete(key);
    }
    for (const id of this.unnoted.keys()) {
      if (this.unnoted.size <= REMEMBERED) break;
      this.unnoted.delete(id);
    }
    if (outcomes.length === 0) return;
    this.logger.warn(Messages.grpcLeasesExpired(outcomes.length, this.leaseMs));
    try {
      await this.store.publish(outcomes);
    } catch (error) {
      this.logger.error(`Giving back ${outcomes.length} task(s) whose lease ran out failed: ${describeThrown(error)}`);
    }
  }

  private expired({ task, started, cancelled }: Held): TaskOutcome {
    if (cancelled) return { status: 'cancelled', task, started };
    const limit = task.maxAttempts ?? this.limits.of(task.name);
    const error = serializeError(new LeaseExpiredError(task.name, task.attempt, this.leaseMs));
    if (!started) {
      const losses = (this.unnoted.get(task.id) ?? 0) + 1;
      this.unnoted.set(task.id, losses);
      if (losses < limit + UNNOTED_LOSSES) return { status: 'released', task };
      this.unnoted.delete(task.id);
      return { status: 'failed', task, reason: 'crash', error };
    }
    if (task.attempt >= limit) return { status: 'failed', task, reason: 'crash', error };
    const now = Date.now();
    return { status: 'retry', task, reason: 'crash', error, nextAttempt: task.attempt + 1, delayMs: 0, runAt: now };
  }
}
