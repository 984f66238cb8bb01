import { Logger, type LoggerService } from '@nestjs/common';
import { taskFailure, type TaskFailure } from '../boundary/task.failure.js';
import { describeThrown } from '../clients/kit/json.encoder.js';
import { logList, logText } from '../common/log-text.js';
import { UnknownTaskError } from '../errors/worker.errors.js';
import type { RedactErrorHook } from '../interfaces/error-redaction.interface.js';
import type { TaskClient, TaskEnvelope, TaskFailureReason, TaskOutcome } from '../interfaces/task-client.interface.js';
import { Call, type CallResult, type QueueEntry } from '../pool/call.record.js';
import type { EventSink } from '../pool/event.sink.js';
import type { TaskDispatcher } from '../pool/task.dispatcher.js';
import type { TaskRegistry } from '../task.registry.js';
import { CancelWatch } from './cancel.watch.js';
import { ErrorRedactor } from './error.redactor.js';
import { FailureSettler } from './failure.settler.js';
import { HeldDeliveries } from './held.deliveries.js';
import { IdleBackoff } from './idle.backoff.js';
import { LeaseKeeper } from './lease.keeper.js';
import { LoopEvents } from './loop.events.js';
import { PermitGate } from './permit.gate.js';
import { OutcomePublisher } from './outcome.publisher.js';
import { PrefetchBudget } from './prefetch.budget.js';
import { ProgressReporter } from './progress.reporter.js';
import { RetryPolicy } from './retry.policy.js';
import { StartMarks } from './start-marks.batcher.js';

export interface TaskLoopSettings {
  fetchBatchSize: number;
  idleMinMs: number;
  idleMaxMs: number;
  publishBatchSize: number;
  publishIntervalMs: number;
  nonRetryable: ReadonlyArray<string | number>;
  /** See WorkerModuleOptions.redact. */
  redact?: RedactErrorHook;
}

export type LoopState = 'idle' | 'running' | 'paused' | 'stopping' | 'stopped';

/**
 * The worker loop: fetch from the task client into the bounded queue (never
 * more than there is room for, nor, with leases, more than the threads can
 * start within a share of the lease), let the dispatcher run the tasks, and
 * turn each result into exactly one outcome — completed, retry, failed or
 * released — for the publisher. A delivery whose lease the client reports
 * lost before it started is dropped instead: another consumer has it.
 */
export class TaskLoop {
  private readonly backoff: IdleBackoff;
  private readonly loopEvents: LoopEvents;
  private readonly publisher: OutcomePublisher;
  private readonly failures: FailureSettler;
  /** Deliveries fetched and not yet reported, their calls, and which have started. */
  private readonly held = new HeldDeliveries();
  private readonly leases: LeaseKeeper;
  private readonly startMarks: StartMarks;
  private readonly prefetch: PrefetchBudget;
  private readonly cancels: CancelWatch;
  private readonly progress: ProgressReporter;
  /** Rate limits and concurrency keys; undefined when no task has one (nothing is paid then). */
  private readonly permits?: PermitGate;
  /** Held deliveries waiting for the answer of `acquirePermits()`. */
  private readonly awaitingPermit = new Set<TaskEnvelope>();
  private fetchAbort = new AbortController();
  private pauseFetch?: AbortController;
  private running?: Promise<void>;
  private resumeGate?: { promise: Promise<void>; open: () => void };
  private unwatch?: () => void;
  state: LoopState = 'idle';
  fetched = 0;
  /** Deliveries whose lease the client reported lost. */
  leasesLost = 0;
  /** Deliveries handed back to the client unfinished: before they started, or stopped at the shutdown deadline. */
  readonly released = { unstarted: 0, stopped: 0 };
  /** Deliveries given back to wait for a rate-limit or concurrency permit (not counted in `released`). */
  deferred = 0;
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
    this.loopEvents = new LoopEvents(events);
    this.publisher = new OutcomePublisher(client, settings.publishBatchSize, settings.publishIntervalMs, logger);
    this.failures = new FailureSettler(
      registry,
      new RetryPolicy(settings.nonRetryable),
      new ErrorRedactor(settings.redact),
      this.loopEvents,
      logger,
      this.debug,
    );
    this.prefetch = new PrefetchBudget(client.extendLeases ? client.leaseMs : undefined, dispatcher.threads);
    // A finished task keeps its lease until its outcome is published: a
    // publish delayed by batching or by a client outage must not let another
    // consumer run the task again.
    this.leases = new LeaseKeeper(
      client,
      () => [...this.held.tasks(), ...this.publisher.unpublished()],
      (lost) => this.onLeasesLost(lost),
      logger,
    );
    this.startMarks = new StartMarks(client, (task) => this.held.has(task), logger);
    this.progress = new ProgressReporter(client, logger);
    this.cancels = new CancelWatch(
      client,
      dispatcher,
      {
        callOf: (task) => this.held.callOf(task),
        started: (task) => this.held.isStarted(task),
        report: (task, outcome) => this.report(task, outcome),
      },
      logger,
    );
    // Throws when a task has limits the client cannot enforce (the orchestrator checked that at bootstrap).
    this.permits = PermitGate.create(client, registry.policies(), logger);
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** Deliveries cancelled while this loop held them (dropped before they started, or aborted). */
  get cancelledCount(): number {
    return this.cancels.count;
  }

  /** `WorkerManager.cancel(id)`: see CancelWatch.cancel. */
  cancel(id: string): Promise<boolean> {
    return this.cancels.cancel(id);
  }

  start(): void {
    if (this.state !== 'idle') return;
    // Before the first fetch: a durable client decides some outcomes
    // without the loop (a lease lost on the last attempt) and needs the
    // attempts each task is allowed.
    this.client.registerTasks?.(this.registry.policies());
    this.state = 'running';
    this.unwatch = this.client.watch?.(() => this.backoff.wake());
    this.cancels.start();
    this.leases.start();
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
    this.leases.stop();
    this.startMarks.stop();
    this.cancels.stop();
    this.progress.stop();
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
      // With leases, what waits here unstarted is stranded if the process
      // dies: hold no more than the threads start within a share of the
      // lease. Refilled once half of it has started, in one fetch, rather
      // than one fetch per task started.
      const limit = this.prefetch.limit;
      const unstarted = this.held.unstarted;
      const budget = limit - unstarted;
      if (unstarted > 0 && budget < Math.ceil(limit / 2)) {
        await Promise.race([this.held.whenFewerUnstarted(), stopped]);
        continue;
      }
      let tasks: readonly TaskEnvelope[];
      const pause = (this.pauseFetch = new AbortController());
      try {
        tasks = await this.client.fetch(
          Math.min(room, budget, this.settings.fetchBatchSize),
          AbortSignal.any([signal, pause.signal]),
        );
      } catch (error) {
        if (signal.aborted) break;
        if (pause.signal.aborted) continue;
        this.logger.warn(`Fetching tasks failed: ${describeThrown(error)}. Backing off.`);
        await this.backoff.sleep();
        continue;
      }
      if (tasks.length === 0) {
        if (!signal.aborted) await this.backoff.sleep();
        continue;
      }
      this.fetched += tasks.length;
      // Answered after shutdown or pause began: hand the tasks straight back.
      const giveBack = signal.aborted || pause.signal.aborted;
      const gated = giveBack || !this.permits ? [] : this.permits.select(tasks);
      if (gated.length === 0) {
        this.backoff.reset();
        for (const task of tasks) this.accept(task, giveBack);
        continue;
      }
      // Unlimited deliveries start at once; limited ones once their permits are granted.
      for (const task of tasks) this.accept(task, false, gated.includes(task));
      const deferred = await this.admitPermitted(gated, signal);
      // A fetch whose every delivery went back to wait for a permit is no
      // progress: the idle backoff keeps growing, so a store that hands the
      // same denied deliveries back at once cannot make this loop spin.
      if (deferred < tasks.length) this.backoff.reset();
    }
  }

  /**
   * Asks for the permits of `gated` (held, not admitted), admits those
   * granted and gives the others back to wait (`released` with `delayMs`,
   * uncharged). One whose lease was lost meanwhile is skipped; after
   * shutdown began, the granted ones go back too. Returns how many went back.
   */
  private async admitPermitted(gated: readonly TaskEnvelope[], signal: AbortSignal): Promise<number> {
    for (const task of gated) this.awaitingPermit.add(task);
    const { admit, defer } = await this.permits!.decide(gated);
    let back = 0;
    for (const task of admit) {
      if (!this.awaitingPermit.delete(task)) continue;
      if (signal.aborted) {
        back++;
        this.report(task, { status: 'released', task });
      } else this.admit(task);
    }
    for (const { task, delayMs } of defer) {
      if (!this.awaitingPermit.delete(task)) continue;
      back++;
      this.deferred++;
      this.report(task, { status: 'released', task, delayMs });
    }
    return back;
  }

  private accept(task: TaskEnvelope, releaseNow: boolean, awaitPermit = false): void {
    this.held.add(task);
    this.cancels.held(task);
    this.loopEvents.fetched(task);
    if (releaseNow) {
      // Fetched while shutting down or pausing (the client answered after the abort).
      this.report(task, { status: 'released', task });
      return;
    }
    if (!awaitPermit) this.admit(task);
  }

  /** Hands a held delivery to the dispatcher. */
  private admit(task: TaskEnvelope): void {
    // Cancelled while it waited for its permit.
    if (this.cancels.has(task)) {
      this.report(task, { status: 'cancelled', task, started: false });
      return;
    }
    const definition = this.registry.get(task.name);
    if (!definition) {
      this.settle(task, taskFailure('unknown-task', new UnknownTaskError(task.name, this.registry.names())));
      return;
    }
    // The fetch asked for no more than the free room, so this fits; if a
    // run() caller took the room meanwhile, the queue briefly runs over.
    const call = new Call({
      name: task.name,
      payload: task.payload,
      id: task.id,
      attempt: task.attempt,
      timeoutMs: definition.timeoutMs,
      batchable: definition.batch,
      source: 'client',
      // The trace context stored with the task by whoever enqueued it.
      parent: this.events.instrumentation?.extract(task),
      done: (result) => this.onResult(task, result),
      onStart: () => this.onStarted(task),
      cancellable: true,
      onProgress: this.progress.enabled ? (value) => this.progress.add(task, value) : undefined,
    });
    this.held.setCall(task, call);
    this.dispatcher.admitNow(call);
  }

  private onStarted(task: TaskEnvelope): void {
    if (this.held.markStarted(task)) this.startMarks.add(task);
  }

  /**
   * The client says another consumer has these deliveries now. One still
   * queued here is taken out and never runs (no outcome either: it is not
   * ours to report). One already running, or finished with its outcome not
   * yet published, goes on: its outcome will be fenced by the client. Each
   * is reported once, in one line per batch and one event per delivery.
   */
  private onLeasesLost(lost: readonly TaskEnvelope[]): void {
    const queued = new Map<QueueEntry, TaskEnvelope>();
    for (const task of lost) {
      const call = this.held.callOf(task);
      if (call && this.held.has(task) && !this.held.isStarted(task)) queued.set(call, task);
    }
    const dropped = new Set<TaskEnvelope>();
    if (queued.size > 0) {
      for (const entry of this.dispatcher.takeQueued((entry) => queued.has(entry))) dropped.add(queued.get(entry)!);
    }
    // Those waiting for their permits are not admitted once the answer comes.
    for (const task of lost) if (this.awaitingPermit.delete(task)) dropped.add(task);
    for (const task of dropped) this.forget(task);
    this.leasesLost += lost.length;
    this.loopEvents.leasesLost(lost, dropped);
    this.logger.warn(
      `Lost the lease of ${lost.length} task(s) to another consumer (this process stalled, or could not reach the task store, for longer than the lease): ` +
        `${dropped.size} not started yet were dropped here; ${lost.length - dropped.size} already running or finished here go on, but their outcomes will be ignored. ` +
        `Tasks: ${logList(lost.map((task) => `${task.name}#${task.id}`))}.`,
    );
  }

  /** The delivery is no longer this loop's. */
  private forget(task: TaskEnvelope): boolean {
    this.cancels.forget(task);
    return this.held.forget(task);
  }

  private onResult(task: TaskEnvelope, result: CallResult): void {
    if (this.cancels.has(task)) {
      // Whatever the call ended with: no retry decision, no dead letter.
      this.report(task, { status: 'cancelled', task, started: this.held.isStarted(task) });
      return;
    }
    if (result.ms !== undefined) {
      this.prefetch.record(result.ms);
      this.permits?.ran(task.name, result.ms);
    }
    if (result.ok) {
      if (this.debug)
        this.logger.debug?.(
          `Task ${logText(task.name)}#${logText(task.id)} attempt ${task.attempt} completed in ${result.ms.toFixed(1)} ms.`,
        );
      this.report(task, { status: 'completed', task, result: result.value, durationMs: result.ms });
    } else if (isTaskFailure(result.failure)) {
      this.settle(task, result.failure);
    } else {
      this.report(task, { status: 'released', task });
    }
  }

  /** A failed attempt: retry it, or fail the task for good. */
  private settle(task: TaskEnvelope, failure: TaskFailure<TaskFailureReason>): void {
    this.report(task, this.failures.settle(task, failure));
  }

  /** The single exit of every fetched delivery: one outcome, then it is no longer held. */
  private report(task: TaskEnvelope, outcome: TaskOutcome): void {
    const started = this.held.isStarted(task);
    if (this.cancels.intercept(task, outcome, started)) return;
    this.progress.beforeOutcome(task);
    if (!this.forget(task)) {
      this.logger.error(
        `Task ${logText(task.name)}#${logText(task.id)} (attempt ${task.attempt}) was reported twice; the second outcome (${outcome.status}) is dropped.`,
      );
      return;
    }
    this.events.instrumentation?.loopOutcome(task, outcome.status);
    // Released after it started: only the shutdown deadline stops a running delivery.
    if (outcome.status === 'released' && !outcome.delayMs) this.released[started ? 'stopped' : 'unstarted']++;
    this.loopEvents.reported(task, outcome, started);
    this.publisher.push(outcome);
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
