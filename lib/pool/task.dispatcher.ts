import type { DispatchReply } from '../boundary/dispatch.protocol.js';
import { isDataCloneError } from '../boundary/crash.reason.js';
import { abortedFailure, taskFailure, type TaskFailure } from '../boundary/task.failure.js';
import { TaskCancelledError, WorkerShutdownError } from '../errors/worker.errors.js';
import { BoundedQueue } from './bounded.queue.js';
import { CallBatcher, type BatchingSettings } from './call.batcher.js';
import type { ClassInstanceWarnings } from './class-instance.warnings.js';
import { Call, MapChunk, type QueueEntry } from './call.record.js';
import { DeadlineWatch } from './deadline.watch.js';
import { Dispatch } from './dispatch.record.js';
import { DispatchEvents } from './dispatch.events.js';
import { DispatchStats, type DispatchCounts } from './dispatch.stats.js';
import type { EventSink } from './event.sink.js';
import { classifyRejection } from './failure.classifier.js';
import { ProgressRelay } from './progress.relay.js';
import { ShutdownTally, type ShutdownSummary } from './shutdown.tally.js';
import type { TaskPool } from './task-pool.interface.js';
import { TaskTiming } from './task.timing.js';

export interface DispatcherSettings {
  queueSize: number;
  timeoutGraceMs: number;
  batching: BatchingSettings;
  /** Warns about class-instance payloads (outside production). */
  classInstances?: ClassInstanceWarnings;
}

/** What `WorkerManager.stats()` reports from the dispatcher. */
export interface DispatcherSnapshot extends DispatchCounts {
  /** Entries in the bounded queue. */
  readonly queued: number;
  /** Producers parked until there is room. */
  readonly waiting: number;
  readonly utilization: number;
}

/**
 * Moves queued work into the pool: never more dispatches than threads,
 * short calls batched while the queue is deep, each call's timeout enforced
 * from its own start, and a batch that dies as a whole split up so that only
 * the culprit fails. Producers (`run()`, `map()`, the worker loop) use its
 * room API and never touch the queue itself.
 */
export class TaskDispatcher {
  private readonly queue: BoundedQueue<QueueEntry>;
  private readonly timing = new TaskTiming();
  private readonly stats = new DispatchStats();
  private readonly batcher: CallBatcher;
  private readonly deadlines: DeadlineWatch;
  private readonly events: DispatchEvents;
  private readonly progress: ProgressRelay;
  private readonly graceMs: number;
  private readonly inflight = new Set<Dispatch>();
  private readonly classInstances?: ClassInstanceWarnings;
  private readonly idleWaiters: Array<() => void> = [];
  private pumping = false;
  private stopping = false;
  /** `shutdownTimeoutMs` once `stop()` was called, for the errors that name the deadline. */
  private shutdownTimeoutMs?: number;

  constructor(
    private readonly pool: TaskPool,
    settings: DispatcherSettings,
    private readonly sink: EventSink,
  ) {
    this.queue = new BoundedQueue(settings.queueSize);
    this.batcher = new CallBatcher(settings.batching, this.timing, pool.size);
    this.deadlines = new DeadlineWatch(settings.timeoutGraceMs, (dispatch, index) => this.overdue(dispatch, index));
    this.events = new DispatchEvents(sink);
    this.progress = new ProgressRelay(sink);
    this.graceMs = settings.timeoutGraceMs;
    this.classInstances = settings.classInstances;
    pool.onProgress?.((id, value) => this.progress.fromThread(this.inflight, id, value));
  }

  /** Worker threads the pool runs: how many calls can be in flight at once. */
  get threads(): number {
    return this.pool.size;
  }

  /** Room for a new producer right now (parked producers come first). */
  get freeRoom(): number {
    return this.queue.free;
  }

  /** Resolves once `freeRoom > 0`. */
  whenRoom(): Promise<void> {
    return this.queue.whenFree();
  }

  /** Queues `entry` if there is room; the caller decides what a full queue means. */
  offer(entry: QueueEntry): boolean {
    entry.queuedAt = performance.now();
    this.classInstances?.inspect(entry);
    if (!this.queue.offer(entry)) return false;
    this.pump();
    return true;
  }

  /** Queues `entry` now or, in arrival order, when room appears (backpressure). Rejects when `signal` aborts first. */
  async admit(entry: QueueEntry, signal?: AbortSignal): Promise<void> {
    entry.queuedAt = performance.now();
    this.classInstances?.inspect(entry);
    await this.queue.admit(entry, signal);
    this.pump();
  }

  /**
   * Queues `entry` even past capacity. For work that was asked for against
   * room a `run()` caller took meanwhile: refusing it now would lose it.
   */
  admitNow(entry: QueueEntry): void {
    if (this.offer(entry)) return;
    this.queue.returnToFront([entry]);
    this.pump();
  }

  /** Takes queued (never started) entries out, for their owner to settle. */
  takeQueued(match: (entry: QueueEntry) => boolean): QueueEntry[] {
    const taken = this.queue.removeWhere(match);
    this.queue.notifyRoom();
    this.pump();
    return taken;
  }

  /**
   * Cancels a call that is in a thread now (see TaskLoop for queued ones):
   * its `ctx.signal` aborts with a TaskCancelledError at once, and
   * `timeoutGraceMs` later, if it still runs, its thread is stopped and
   * replaced like a timed-out one's (the other calls of its batch run again,
   * alone). It then settles as 'aborted'. False when the call is not in flight.
   */
  cancelRunning(call: Call): boolean {
    for (const dispatch of this.inflight) {
      const index = dispatch.calls ? dispatch.calls.indexOf(call) : -1;
      if (index < 0) continue;
      call.cancelled = true;
      this.pool.cancelCalls?.([call.id]);
      const timer = setTimeout(() => this.stopCancelled(dispatch, index), this.graceMs);
      timer.unref();
      (dispatch.cancelTimers ??= []).push(timer);
      return true;
    }
    return false;
  }

  /** Measured run time of task `name`, ms (undefined before its first run). */
  estimateMs(name: string): number | undefined {
    return this.timing.estimate(name);
  }

  snapshot(): DispatcherSnapshot {
    const { running, completed, failed, timedOut, crashed, batched } = this.stats;
    return {
      queued: this.queue.length,
      waiting: this.queue.parkedCount,
      running,
      completed,
      failed,
      timedOut,
      crashed,
      batched,
      utilization: this.stats.utilization(this.pool.size, this.inflight),
    };
  }

  /** Resolves when nothing is queued or in flight, or at `deadline` (epoch ms); true when idle. */
  async whenIdle(deadline: number): Promise<boolean> {
    if (this.isIdle()) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = await Promise.race([
      new Promise<true>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    return idle;
  }

  /**
   * Shutdown past its deadline: everything queued or parked fails with
   * reason 'shutdown' now, as not started; dispatches in flight are stopped
   * and settle as 'shutdown' (stopped) when their rejection comes back.
   * Returns what it found, for the shutdown log.
   */
  stop(shutdownTimeoutMs?: number): ShutdownSummary {
    this.stopping = true;
    this.shutdownTimeoutMs = shutdownTimeoutMs;
    const tally = new ShutdownTally();
    for (const entry of this.queue.removeWhere(() => true)) {
      tally.add('unstarted', entry);
      this.shutDown(entry);
    }
    const parked = this.queue.takeParked((e) => new WorkerShutdownError(e.name, 'unstarted', shutdownTimeoutMs));
    for (const entry of parked) {
      tally.add('unstarted', entry);
      this.shutDown(entry);
    }
    for (const dispatch of this.inflight) {
      for (const entry of dispatch.calls ?? [dispatch.chunk!]) tally.add('stopped', entry);
      dispatch.abort('shutdown');
    }
    return tally.summary();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const threads = this.pool.size;
    try {
      do {
        while (this.inflight.size < threads && this.queue.length > 0) {
          const head = this.queue.shift()!;
          // An aborted map() has already rejected and taken its queued chunks back.
          if (head instanceof MapChunk) this.send(Dispatch.ofChunk(head));
          else if (head.signal?.aborted) this.settle(head, abortedFailure(head.name, head.signal.reason));
          else this.send(Dispatch.ofCalls(this.batcher.collect(head, this.queue, threads - this.inflight.size)));
        }
        // Parked producers move in as room appears; they may refill the queue.
        this.queue.notifyRoom();
      } while (this.inflight.size < threads && this.queue.length > 0);
    } finally {
      this.pumping = false;
    }
    if (this.isIdle()) this.wakeIdle();
  }

  private send(dispatch: Dispatch): void {
    this.inflight.add(dispatch);
    this.stats.sent(dispatch);
    this.deadlines.watch(dispatch);
    if (dispatch.calls) {
      for (const call of dispatch.calls) call.onStart?.();
      this.events.started(dispatch.calls);
      if (this.sink.instrumentation) this.traceStarted(dispatch);
    }
    this.pool.run(dispatch.request, dispatch.controller?.signal, dispatch.transfer).then(
      (reply) => this.onReply(dispatch, reply),
      (error: unknown) => this.onRejected(dispatch, error),
    );
  }

  private stopCancelled(dispatch: Dispatch, index: number): void {
    if (!this.inflight.has(dispatch)) return;
    // A timed dispatch says which call its thread is on: one that finished,
    // or has not started (it will not run: the thread was told), needs no
    // stop. Without those cells the thread is stopped whatever it is on.
    if (dispatch.progress && dispatch.currentIndex() !== index) return;
    dispatch.culprit = index;
    dispatch.abort('cancelled');
  }

  private overdue(dispatch: Dispatch, index: number): void {
    if (!this.inflight.has(dispatch)) return;
    dispatch.culprit = index;
    dispatch.abort('timeout');
  }

  private finish(dispatch: Dispatch): void {
    this.inflight.delete(dispatch);
    this.stats.finished(dispatch);
    dispatch.dispose();
  }

  private onReply(dispatch: Dispatch, reply: DispatchReply): void {
    this.finish(dispatch);
    this.pool.afterReply(reply);
    if (reply.g) this.progress.fromReply(dispatch, reply.g);
    if (dispatch.chunk) {
      const chunk = dispatch.chunk;
      this.timing.record(chunk.name, reply.t / (reply.v.length || 1));
      const failures = reply.f;
      if (failures) {
        // A chunk stops at its first failing item: there is exactly one.
        const index = Number(Object.keys(failures)[0]);
        this.settleChunk(chunk, failures[index]!, index);
      } else {
        this.stats.completed += dispatch.size;
        this.sink.instrumentation?.items(chunk.name, dispatch.size, {
          outcome: 'completed',
          ms: reply.t,
          threadId: reply.tid,
        });
        chunk.settle({ ok: true, values: reply.v });
      }
    } else {
      const calls = dispatch.calls!;
      for (let i = 0; i < calls.length; i++) {
        const call = calls[i]!;
        const ms = reply.d?.[i] ?? reply.t;
        this.timing.record(call.name, ms);
        const failure = reply.f?.[i];
        if (failure) {
          this.settle(call, failure, ms, reply.tid);
        } else {
          this.stats.completed++;
          // A cancelled call's event is its owner's task.cancelled, not a completion.
          if (!call.cancelled) this.events.completed(call, ms, reply.tid);
          this.sink.instrumentation?.ended(call, { outcome: 'completed', ms, threadId: reply.tid });
          call.settle({ ok: true, value: reply.v[i], ms, tid: reply.tid });
        }
      }
    }
    this.pump();
  }

  private onRejected(dispatch: Dispatch, error: unknown): void {
    this.finish(dispatch);
    const cause = dispatch.cause ?? (this.stopping ? 'shutdown' : undefined);
    if (this.sink.instrumentation) {
      // The pool replaces a thread it stopped (timeout, abort) or that died; not one that refused to clone the request.
      if (cause === 'timeout' || cause === 'aborted') this.sink.instrumentation.threadRestarted(cause);
      else if (cause === 'cancelled') this.sink.instrumentation.threadRestarted('aborted');
      else if (cause === undefined && !isDataCloneError(error)) this.sink.instrumentation.threadRestarted('crash');
    }
    if (dispatch.chunk) {
      const chunk = dispatch.chunk;
      const index = dispatch.culprit >= 0 ? dispatch.culprit : Math.max(0, dispatch.currentIndex());
      const subject = {
        name: chunk.name,
        timeoutMs: chunk.timeoutMs,
        sent: chunk.items,
        root: 'items' as const,
        abortReason: chunk.signal?.reason,
        shutdownTimeoutMs: this.shutdownTimeoutMs,
      };
      this.settleChunk(chunk, classifyRejection(cause, error, subject), index);
    } else {
      const calls = dispatch.calls!;
      if (cause === 'timeout' || cause === 'cancelled') {
        const culprit = calls[dispatch.culprit]!;
        this.settle(
          culprit,
          classifyRejection(cause, error, {
            ...this.subjectOf(culprit),
            ...(cause === 'cancelled' ? { abortReason: new TaskCancelledError(culprit.name, culprit.id) } : {}),
          }),
        );
        // The calls before the culprit ran, but their results died with the
        // thread; the calls after it never started. All run again, alone.
        this.requeue(calls.filter((c) => c !== culprit));
      } else if (cause === undefined && calls.length > 1) {
        // Something in the batch killed the thread or could not be cloned:
        // each call runs again on its own, so that only the culprit fails.
        this.requeue(calls);
      } else {
        for (const call of calls) this.settle(call, classifyRejection(cause, error, this.subjectOf(call)));
      }
    }
    this.pump();
  }

  private settle(call: Call, failure: TaskFailure, ms?: number, tid?: number): void {
    this.stats.failedWith(failure.reason);
    this.events.failed(call, failure);
    this.sink.instrumentation?.ended(call, { outcome: failure.reason, ms, threadId: tid, error: failure.error });
    call.settle({ ok: false, failure, ms, tid });
  }

  /** `index` counts from the chunk's first item. */
  private settleChunk(chunk: MapChunk, failure: TaskFailure, index: number): void {
    const item = chunk.offset + index;
    this.stats.failedWith(failure.reason);
    const { name, timeoutMs } = chunk;
    this.events.failed({ id: `${chunk.idPrefix}:${item}`, name, attempt: 1, source: 'map', timeoutMs }, failure);
    this.sink.instrumentation?.items(name, 1, { outcome: failure.reason, error: failure.error });
    chunk.settle({ ok: false, failure, index: item });
  }

  private shutDown(entry: QueueEntry): void {
    const failure = taskFailure('shutdown', new WorkerShutdownError(entry.name, 'unstarted', this.shutdownTimeoutMs));
    if (entry instanceof Call) this.settle(entry, failure);
    else this.settleChunk(entry, failure, 0);
  }

  private subjectOf(call: Call) {
    return {
      name: call.name,
      timeoutMs: call.timeoutMs,
      sent: call.payload,
      root: 'payload' as const,
      abortReason: call.signal?.reason,
      shutdownTimeoutMs: this.shutdownTimeoutMs,
    };
  }

  /** Starts each call's span; the thread gets the context its handler runs in. */
  private traceStarted(dispatch: Dispatch): void {
    const instrumentation = this.sink.instrumentation!;
    const calls = dispatch.calls!;
    let contexts: Array<string | undefined> | undefined;
    for (let i = 0; i < calls.length; i++) {
      const context = instrumentation.started(calls[i]!);
      if (context !== undefined) (contexts ??= new Array<string | undefined>(calls.length))[i] = context;
    }
    if (contexts) dispatch.request.tc = contexts;
  }

  private requeue(calls: readonly Call[]): void {
    for (const call of calls) call.solo = true;
    if (this.sink.instrumentation) for (const call of calls) this.sink.instrumentation.requeued(call);
    this.queue.returnToFront(calls);
  }

  private isIdle(): boolean {
    return this.inflight.size === 0 && this.queue.length === 0;
  }

  private wakeIdle(): void {
    if (this.idleWaiters.length === 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
