import type { LoggerService } from '@nestjs/common';
import { serializeError } from '../../boundary/error.serializer.js';
import { AttemptLimits } from '../../clients/kit/attempt-limits.registry.js';
import { describeThrown } from '../../clients/kit/json.encoder.js';
import { Messages } from '../../errors/error-messages.js';
import { LeaseExpiredError } from '../../errors/worker.errors.js';
import type { RegisteredTask, TaskClient, TaskEnvelope, TaskOutcome } from '../../interfaces/task-client.interface.js';

/**
 * Losses of a task's deliveries that never reached a thread (no start mark),
 * on top of its attempt limit, before it is dead-lettered all the same: a
 * task that kills its worker before the start mark is sent must not come
 * back forever. The same bound as the Redis client's.
 */
export const UNNOTED_LOSSES = 3;
/** Deliveries remembered as settled by their holder (an extension crossing the publish is no loss), and losses per task. */
const REMEMBERED = 200_000;

interface Held {
  readonly task: TaskEnvelope;
  expiresAt: number;
  started: boolean;
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
      this.settled.set(key, now);
      if (outcome.status === 'completed' || outcome.status === 'failed') this.unnoted.delete(outcome.task.id);
      forward.push({ ...outcome, task: held.task });
    }
    if (forward.length > 0) await this.store.publish(forward);
  }

  async extendLeases(tasks: readonly TaskEnvelope[]): Promise<readonly TaskEnvelope[]> {
    const expiresAt = Date.now() + this.leaseMs;
    return tasks.filter((task) => {
      const key = keyOf(task);
      const held = this.held.get(key);
      if (held) held.expiresAt = expiresAt;
      return !held && !this.settled.has(key);
    });
  }

  async markStarted(tasks: readonly TaskEnvelope[]): Promise<void> {
    for (const task of tasks) {
      const held = this.held.get(keyOf(task));
      if (held) held.started = true;
    }
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

  private expired({ task, started }: Held): TaskOutcome {
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
