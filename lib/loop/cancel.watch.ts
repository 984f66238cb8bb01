import type { LoggerService } from '@nestjs/common';
import { describeThrown } from '../clients/kit/json.encoder.js';
import { logText } from '../common/log-text.js';
import type { TaskClient, TaskEnvelope, TaskOutcome } from '../interfaces/task-client.interface.js';
import type { TaskStore } from '../interfaces/task-store.interface.js';
import type { Call } from '../pool/call.record.js';
import type { TaskDispatcher } from '../pool/task.dispatcher.js';

/** What the watch needs of the loop. */
export interface CancelHost {
  /** The call of a held delivery (none while it waits for a permit). */
  callOf(task: TaskEnvelope): Call | undefined;
  started(task: TaskEnvelope): boolean;
  /** The loop's single exit: publishes the outcome and forgets the delivery. */
  report(task: TaskEnvelope, outcome: TaskOutcome): void;
}

/** A held delivery whose task was cancelled. */
interface Cancelled {
  /** Resolves true once the store has marked the task cancelled (at once for a store's own notice). */
  readonly gate: Promise<boolean>;
  confirmed: boolean;
  /** An outcome waits for the gate. */
  waiting: boolean;
}

/**
 * Cancel by id in the worker loop: `WorkerManager.cancel(id)` here, or the
 * store's notice (`watchCancels`) of a cancel made anywhere. A held delivery
 * not started yet is taken out of the queue and never runs; a running one has
 * its `ctx.signal` aborted, and its thread stopped `timeoutGraceMs` later if
 * it still runs (see TaskDispatcher.cancelRunning). Whatever the call then
 * ends with, the delivery's one outcome is `cancelled`: never completed,
 * retry or failed as well.
 *
 * A cancel made here aborts at once, without waiting for the store; the
 * `cancelled` outcome waits for the store's answer, since it only closes a
 * delivery the store has marked cancelled. Should the store say no (the task
 * finished meanwhile, or the call failed), the delivery reports what it
 * would have: its own outcome, or `released` if it was stopped.
 */
export class CancelWatch {
  /** Held deliveries by task id: what a cancel names. */
  private readonly byId = new Map<string, TaskEnvelope>();
  private readonly cancelled = new Map<TaskEnvelope, Cancelled>();
  private unwatch?: () => void;
  /** Cancelled outcomes reported (WorkerStats.cancelled). */
  count = 0;

  constructor(
    private readonly client: TaskClient,
    private readonly dispatcher: TaskDispatcher,
    private readonly host: CancelHost,
    private readonly logger: LoggerService,
  ) {}

  start(): void {
    this.unwatch = this.client.watchCancels?.((ids) => {
      for (const id of ids) this.cancelHeld(id, CONFIRMED);
    });
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  held(task: TaskEnvelope): void {
    this.byId.set(task.id, task);
  }

  forget(task: TaskEnvelope): void {
    if (this.byId.get(task.id) === task) this.byId.delete(task.id);
    this.cancelled.delete(task);
  }

  has(task: TaskEnvelope): boolean {
    return this.cancelled.has(task);
  }

  /**
   * `WorkerManager.cancel(id)`: the store's `cancel(id)` when it has one,
   * and the delivery aborted here at once if this loop holds it. Resolves
   * with the store's answer, or, without a store cancel, whether it was held.
   */
  async cancel(id: string): Promise<boolean> {
    const store = this.client as Partial<TaskStore>;
    if (typeof store.cancel !== 'function') return this.cancelHeld(id, CONFIRMED);
    const answer = Promise.resolve()
      .then(() => store.cancel!(id))
      .then((cancelled) => cancelled === true);
    // Settled here too, so that a rejection the gate sees is never unhandled.
    answer.catch(() => undefined);
    this.cancelHeld(id, answer);
    return answer;
  }

  /**
   * Takes `outcome` of a cancelled delivery (returns true) to report it as
   * `cancelled` once the store confirmed, or as itself if it did not.
   */
  intercept(task: TaskEnvelope, outcome: TaskOutcome, started: boolean): boolean {
    const entry = this.cancelled.get(task);
    if (!entry) return false;
    if (entry.confirmed) {
      if (outcome.status === 'cancelled') {
        this.count++;
        return false;
      }
      this.host.report(task, { status: 'cancelled', task, started });
      return true;
    }
    if (entry.waiting) return true;
    entry.waiting = true;
    void entry.gate
      .catch((error: unknown) => {
        this.logger.warn(
          `Cancelling task ${logText(task.name)}#${logText(task.id)} in the task store failed (${describeThrown(error)}); it is reported as if it had not been cancelled.`,
        );
        return false;
      })
      .then((confirmed) => {
        if (confirmed) {
          entry.confirmed = true;
          this.host.report(task, { status: 'cancelled', task, started });
          return;
        }
        this.cancelled.delete(task);
        // Not cancelled after all: its own outcome; one it stopped goes back.
        this.host.report(task, outcome.status === 'cancelled' ? { status: 'released', task } : outcome);
      });
    return true;
  }

  /** Aborts the held delivery of `id`; false when this loop does not hold it. */
  private cancelHeld(id: string, gate: Promise<boolean>): boolean {
    const task = this.byId.get(id);
    if (!task) return false;
    if (this.cancelled.has(task)) return true;
    this.cancelled.set(task, { gate, confirmed: gate === CONFIRMED, waiting: false });
    const call = this.host.callOf(task);
    // Waiting for a permit: it is reported cancelled when the loop admits it (see report()).
    if (!call) return true;
    if (!this.host.started(task) && this.dispatcher.takeQueued((entry) => entry === call).length > 0) {
      this.host.report(task, { status: 'cancelled', task, started: false });
    } else if (!this.dispatcher.cancelRunning(call)) {
      // Back in the queue after its batch failed as a whole: taken out there.
      if (this.dispatcher.takeQueued((entry) => entry === call).length > 0)
        this.host.report(task, { status: 'cancelled', task, started: true });
    }
    return true;
  }
}

/** The gate of a cancel the store already made. */
const CONFIRMED: Promise<boolean> = Promise.resolve(true);
