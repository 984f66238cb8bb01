import { Logger, type LoggerService } from '@nestjs/common';
import { taskFailure, type TaskFailure } from '../boundary/task.failure.js';
import { UnknownTaskError } from '../errors/worker.errors.js';
import type { TaskClient, TaskEnvelope, TaskFailureReason, TaskOutcome } from '../interfaces/task-client.interface.js';
import { Call, type CallResult } from '../pool/call.record.js';
import type { EventSink } from '../pool/event.sink.js';
import type { TaskDispatcher } from '../pool/task.dispatcher.js';
import type { TaskRegistry } from '../task.registry.js';
import { IdleBackoff } from './idle.backoff.js';
import { OutcomePublisher } from './outcome.publisher.js';
import { RetryPolicy } from './retry.policy.js';

export interface TaskLoopSettings {
  fetchBatchSize: number;
  idleMinMs: number;
  idleMaxMs: number;
  publishBatchSize: number;
  publishIntervalMs: number;
  nonRetryable: ReadonlyArray<string | number>;
}

export type LoopState = 'idle' | 'running' | 'paused' | 'stopping' | 'stopped';

/**
 * The worker loop: fetch from the task client into the bounded queue (never
 * more than there is room for), let the dispatcher run the tasks, and turn
 * each result into exactly one outcome — completed, retry, failed or
 * released — for the publisher.
 */
export class TaskLoop {
  private readonly backoff: IdleBackoff;
  private readonly publisher: OutcomePublisher;
  private readonly retries: RetryPolicy;
  /** Deliveries fetched and not yet reported: what leases are extended for, and what shutdown accounts for. */
  private readonly held = new Set<TaskEnvelope>();
  private fetchAbort = new AbortController();
  private pauseFetch?: AbortController;
  private running?: Promise<void>;
  private resumeGate?: { promise: Promise<void>; open: () => void };
  private unwatch?: () => void;
  private leaseTimer?: NodeJS.Timeout;
  state: LoopState = 'idle';
  fetched = 0;
  // Read once: per-task lines are only built when someone asked for them.
  private readonly debug = Logger.isLevelEnabled('debug');

  constructor(
    private readonly client: TaskClient,
    private readonly dispatcher: TaskDispatcher,
    private readonly registry: TaskRegistry,
    private readonly settings: TaskLoopSettings,
    private readonly events: EventSink,
    private readonly logger: LoggerService,
  ) {
    this.backoff = new IdleBackoff(settings.idleMinMs, settings.idleMaxMs);
    this.publisher = new OutcomePublisher(client, settings.publishBatchSize, settings.publishIntervalMs, logger);
    this.retries = new RetryPolicy(settings.nonRetryable);
  }

  get heldCount(): number {
    return this.held.size;
  }

  start(): void {
    if (this.state !== 'idle') return;
    // Before the first fetch: a durable client decides some outcomes
    // without the loop (a lease lost on the last attempt) and needs the
    // attempts each task is allowed.
    this.client.registerTasks?.(this.registry.policies());
    this.state = 'running';
    this.unwatch = this.client.watch?.(() => this.backoff.wake());
    const { leaseMs } = this.client;
    if (leaseMs && this.client.extendLeases) {
      this.leaseTimer = setInterval(() => this.extendLeases(), Math.max(10, Math.floor(leaseMs / 3)));
      this.leaseTimer.unref();
    }
    this.running = this.fetchLoop();
  }

  pause(): void {
    if (this.state !== 'running') return;
    this.state = 'paused';
    // A long-polling fetch would otherwise deliver one more batch after pause().
    this.pauseFetch?.abort();
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.resumeGate = { promise, open };
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'running';
    this.resumeGate?.open();
    this.resumeGate = undefined;
    this.backoff.wake();
  }

  /**
   * Stops fetching; tasks fetched meanwhile are released. Resolves when the
   * fetch loop has ended, or after `graceMs` if the client's fetch() ignores
   * its abort signal (what it returns later is still released).
   */
  async stopFetching(graceMs = 1000): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    this.unwatch?.();
    this.fetchAbort.abort();
    this.resumeGate?.open();
    this.backoff.wake();
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      this.running!.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(resolve, graceMs, false))),
    ]);
    clearTimeout(timer);
    if (!ended) {
      this.logger.warn(
        `The task client's fetch() did not return within ${graceMs} ms of being aborted; shutting down without it. A TaskClient must end fetch() soon after its signal aborts.`,
      );
    }
  }

  /** Hands queued (never started) loop tasks back to the client at once. */
  releaseQueued(): void {
    const released: TaskFailure = { reason: 'shutdown', error: { name: 'Error', message: 'released at shutdown' } };
    for (const entry of this.dispatcher.takeQueued((e) => e instanceof Call && e.source === 'client')) {
      (entry as Call).settle({ ok: false, failure: released });
    }
  }

  /** Publishes what is left; returns how many outcomes could not be published by `deadline`. */
  async flush(deadline: number): Promise<number> {
    const left = await this.publisher.flush(deadline);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.state = 'stopped';
    return left;
  }

  get publishedCount(): number {
    return this.publisher.published;
  }

  private async fetchLoop(): Promise<void> {
    const signal = this.fetchAbort.signal;
    const stopped = aborted(signal);
    while (!signal.aborted) {
      if (this.resumeGate) {
        await this.resumeGate.promise;
        continue;
      }
      const room = this.dispatcher.freeRoom;
      if (room === 0) {
        await Promise.race([this.dispatcher.whenRoom(), stopped]);
        continue;
      }
      let tasks: readonly TaskEnvelope[];
      const pause = (this.pauseFetch = new AbortController());
      try {
        tasks = await this.client.fetch(
          Math.min(room, this.settings.fetchBatchSize),
          AbortSignal.any([signal, pause.signal]),
        );
      } catch (error) {
        if (signal.aborted) break;
        if (pause.signal.aborted) continue;
        this.logger.warn(`Fetching tasks failed: ${(error as Error)?.message ?? error}. Backing off.`);
        await this.backoff.sleep();
        continue;
      }
      if (tasks.length === 0) {
        if (!signal.aborted) await this.backoff.sleep();
        continue;
      }
      this.backoff.reset();
      this.fetched += tasks.length;
      // Answered after shutdown or pause began: hand the tasks straight back.
      const giveBack = signal.aborted || pause.signal.aborted;
      for (const task of tasks) this.accept(task, giveBack);
    }
  }

  private accept(task: TaskEnvelope, releaseNow: boolean): void {
    this.held.add(task);
    if (this.events.enabled) {
      this.events.emit({
        type: 'task.fetched',
        taskId: task.id,
        name: task.name,
        attempt: task.attempt,
        source: 'client',
        at: Date.now(),
      });
    }
    if (releaseNow) {
      // Fetched while shutting down or pausing (the client answered after the abort).
      this.report(task, { status: 'released', task });
      return;
    }
    const definition = this.registry.get(task.name);
    if (!definition) {
      this.settle(task, taskFailure('unknown-task', new UnknownTaskError(task.name, this.registry.names())));
      return;
    }
    // The fetch asked for no more than the free room, so this fits; if a
    // run() caller took the room meanwhile, the queue briefly runs over.
    this.dispatcher.admitNow(
      new Call({
        name: task.name,
        payload: task.payload,
        id: task.id,
        attempt: task.attempt,
        timeoutMs: definition.timeoutMs,
        batchable: definition.batch,
        source: 'client',
        done: (result) => this.onResult(task, result),
      }),
    );
  }

  private onResult(task: TaskEnvelope, result: CallResult): void {
    if (result.ok) {
      if (this.debug)
        this.logger.debug?.(
          `Task ${task.name}#${task.id} attempt ${task.attempt} completed in ${result.ms.toFixed(1)} ms.`,
        );
      this.report(task, { status: 'completed', task, result: result.value, durationMs: result.ms });
    } else if (isTaskFailure(result.failure)) {
      this.settle(task, result.failure);
    } else {
      this.report(task, { status: 'released', task });
    }
  }

  /** A failed attempt: retry it, or fail the task for good. */
  private settle(task: TaskEnvelope, { reason, error }: TaskFailure<TaskFailureReason>): void {
    const definition = this.registry.get(task.name);
    const maxAttempts = task.maxAttempts ?? definition?.maxAttempts ?? 1;
    const decision = this.retries.decide(
      reason,
      error,
      task.attempt,
      maxAttempts,
      definition?.backoff ?? this.registry.defaultBackoff,
    );
    if (decision.retry) {
      const nextAttempt = task.attempt + 1;
      if (this.debug) {
        this.logger.debug?.(
          `Task ${task.name}#${task.id} attempt ${task.attempt} failed (${reason}: ${error.message}); attempt ${nextAttempt} in ${decision.delayMs} ms.`,
        );
      }
      if (this.events.enabled) {
        this.events.emit({
          type: 'task.retrying',
          taskId: task.id,
          name: task.name,
          attempt: task.attempt,
          source: 'client',
          at: Date.now(),
          reason,
          error,
          nextAttempt,
          delayMs: decision.delayMs,
        });
      }
      this.report(task, {
        status: 'retry',
        task,
        reason,
        error,
        nextAttempt,
        delayMs: decision.delayMs,
        runAt: Date.now() + decision.delayMs,
      });
    } else {
      // A dead letter is worth a line at the default level: someone has to look at it.
      this.logger.warn(
        `Task ${task.name}#${task.id} failed for good after attempt ${task.attempt} of ${maxAttempts} (${reason}): ${error.name}: ${error.message}`,
      );
      this.report(task, { status: 'failed', task, reason, error });
    }
  }

  /** The single exit of every fetched delivery: one outcome, then it is no longer held. */
  private report(task: TaskEnvelope, outcome: TaskOutcome): void {
    if (!this.held.delete(task)) {
      this.logger.error(
        `Task ${task.name}#${task.id} (attempt ${task.attempt}) was reported twice; the second outcome (${outcome.status}) is dropped.`,
      );
      return;
    }
    if (this.events.enabled && outcome.status !== 'completed' && outcome.status !== 'retry') {
      const base = {
        taskId: task.id,
        name: task.name,
        attempt: task.attempt,
        source: 'client' as const,
        at: Date.now(),
      };
      this.events.emit(
        outcome.status === 'released'
          ? { ...base, type: 'task.released' }
          : { ...base, type: 'task.failed', reason: outcome.reason, error: outcome.error },
      );
    }
    this.publisher.push(outcome);
  }

  private extendLeases(): void {
    // A finished task keeps its lease until its outcome is published: a
    // publish delayed by batching or by a client outage must not let another
    // consumer run the task again.
    const tasks = [...this.held, ...this.publisher.unpublished()];
    if (tasks.length === 0) return;
    this.client.extendLeases!(tasks).catch((error: unknown) => {
      this.logger.warn(`Extending the leases of ${tasks.length} task(s) failed: ${(error as Error)?.message ?? error}`);
    });
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** A failure of the task itself, rather than the loop giving the delivery back (an abort, the shutdown). */
function isTaskFailure(failure: TaskFailure): failure is TaskFailure<TaskFailureReason> {
  return failure.reason !== 'shutdown' && failure.reason !== 'aborted';
}
