import type { TransferListItem } from 'node:worker_threads';
import { findUncloneable } from '../errors/cloneability.js';
import { serializeError } from '../errors/error-serializer.js';
import {
  NotCloneableError,
  TaskTimeoutError,
  WorkerCrashedError,
  WorkerShutdownError,
} from '../errors/worker.errors.js';
import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type { TaskFailureReason } from '../interfaces/task-client.interface.js';
import type { TaskSource } from '../interfaces/worker-event.interface.js';
import { BoundedQueue } from './bounded-queue.js';
import { describeCrash, isDataCloneError } from './crash-reason.js';
import type { DispatchReply, DispatchRequest } from './dispatch-protocol.js';
import type { EventSink } from './event-sink.js';
import { TaskTiming } from './task-timing.js';
import type { ThreadPool } from './thread-pool.js';

export type CallFailureReason = TaskFailureReason | 'aborted' | 'shutdown';

export type CallResult =
  | { readonly ok: true; readonly value: unknown; readonly ms: number; readonly tid: number }
  | {
      readonly ok: false;
      readonly reason: CallFailureReason;
      readonly error: SerializedTaskError;
      /** The error object itself when it was made in this thread. */
      readonly local?: Error;
      readonly ms?: number;
      readonly tid?: number;
    };

/** One task execution waiting for, or running in, a thread. */
export class Call {
  queuedAt = 0;
  /** Split out of a batch that failed as a whole: from then on it travels alone. */
  solo = false;

  constructor(
    readonly name: string,
    readonly payload: unknown,
    readonly id: string,
    readonly attempt: number,
    readonly timeoutMs: number,
    readonly batchable: boolean,
    readonly source: TaskSource,
    readonly done: (result: CallResult) => void,
    readonly signal?: AbortSignal,
    readonly transfer?: TransferListItem[],
  ) {}
}

/** A slice of a `map()`: many items of one task in one message. */
export class MapChunk {
  queuedAt = 0;

  constructor(
    readonly name: string,
    readonly items: ArrayLike<unknown>,
    readonly offset: number,
    readonly idPrefix: string,
    readonly timeoutMs: number,
    /** Called once: with the reply, or with why the whole chunk failed (and at which item). */
    readonly done: (
      reply: DispatchReply | undefined,
      failure?: Extract<CallResult, { ok: false }> & { index: number },
    ) => void,
    readonly transfer?: TransferListItem[],
  ) {}
}

export type QueueEntry = Call | MapChunk;

export interface DispatcherSettings {
  queueSize: number;
  /** Dispatches in flight at once: one per thread. */
  maxInflight: number;
  timeoutGraceMs: number;
  batching: { enabled: boolean; maxBatchSize: number; targetBatchMs: number };
}

/** One message in flight to a thread. */
class Dispatch {
  culprit = -1;
  abortReason?: 'timeout' | 'aborted' | 'shutdown';
  timer?: NodeJS.Timeout;
  onCallerAbort?: () => void;

  constructor(
    readonly calls: Call[] | undefined,
    readonly chunk: MapChunk | undefined,
    readonly size: number,
    readonly controller: AbortController | undefined,
    readonly progress: Int32Array | undefined,
    readonly base: number,
  ) {}

  timeoutOf(index: number): number {
    return this.chunk ? this.chunk.timeoutMs : (this.calls![index]?.timeoutMs ?? 0);
  }
}

/** How often a timed dispatch whose current call has no deadline is looked at again. */
const PROGRESS_POLL_MS = 50;

/**
 * Moves queued work into the threads: never more dispatches than threads,
 * short tasks batched when the queue is deep, each call's timeout enforced
 * from its own start, and a batch that dies as a whole split up so that only
 * the culprit fails.
 */
export class TaskDispatcher {
  readonly queue: BoundedQueue<QueueEntry>;
  readonly timing = new TaskTiming();
  private readonly inflight = new Set<Dispatch>();
  private readonly idleWaiters: Array<() => void> = [];
  private pumping = false;
  private stopping = false;
  running = 0;
  completed = 0;
  failed = 0;
  timedOut = 0;
  crashed = 0;
  /** Tasks that shared a thread message with others. */
  batched = 0;
  /** Thread time spent on dispatches, for utilization (piscina 5.3's own figure is off by 1000x). */
  private busyMs = 0;
  private readonly since = Date.now();

  constructor(
    private readonly pool: ThreadPool,
    private readonly settings: DispatcherSettings,
    private readonly events: EventSink,
  ) {
    this.queue = new BoundedQueue(settings.queueSize);
  }

  /** Queues `entry` if there is room; the caller decides what a full queue means. */
  offer(entry: QueueEntry): boolean {
    entry.queuedAt = performance.now();
    if (!this.queue.offer(entry)) return false;
    this.pump();
    return true;
  }

  /** Queues `entry` now or when room appears (backpressure). */
  async admit(entry: QueueEntry, signal?: AbortSignal): Promise<void> {
    entry.queuedAt = performance.now();
    await this.queue.admit(entry, signal);
    this.pump();
  }

  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      do {
        while (this.inflight.size < this.settings.maxInflight && this.queue.length > 0) {
          const head = this.queue.shift()!;
          if (head instanceof MapChunk) {
            this.sendChunk(head);
          } else if (head.signal?.aborted) {
            this.fail(head, 'aborted', head.signal.reason);
          } else {
            this.sendCalls(this.collectBatch(head));
          }
        }
        this.queue.notifyRoom();
      } while (this.inflight.size < this.settings.maxInflight && this.queue.length > 0);
    } finally {
      this.pumping = false;
    }
    if (this.inflight.size === 0 && this.queue.length === 0) this.wakeIdle();
  }

  /** Short, batchable calls behind `head` that fit in one message with it. */
  private collectBatch(head: Call): Call[] {
    const { batching, maxInflight } = this.settings;
    if (!batching.enabled || !batchable(head)) return [head];
    const estimate = this.timing.estimate(head.name);
    if (estimate === undefined || estimate > batching.targetBatchMs) return [head];
    const depth = this.queue.length;
    // While there are idle threads for everything queued, latency wins:
    // batching only starts when work is waiting for threads.
    if (depth < maxInflight - this.inflight.size) return [head];
    // Spread the backlog over the threads instead of giving one thread all of it.
    const limit = Math.min(batching.maxBatchSize, Math.ceil((depth + 1) / maxInflight));
    const batch = [head];
    let budget = batching.targetBatchMs - estimate;
    while (batch.length < limit) {
      const next = this.queue.peek();
      if (!(next instanceof Call) || !batchable(next)) break;
      const cost = this.timing.estimate(next.name);
      if (cost === undefined || cost > budget) break;
      this.queue.shift();
      batch.push(next);
      budget -= cost;
    }
    return batch;
  }

  private sendCalls(calls: Call[]): void {
    const first = calls[0]!;
    const size = calls.length;
    let timed = first.timeoutMs > 0;
    let sameName = true;
    let retried = first.attempt !== 1;
    for (let i = 1; i < size; i++) {
      const call = calls[i]!;
      if (call.timeoutMs > 0) timed = true;
      if (call.name !== first.name) sameName = false;
      if (call.attempt !== 1) retried = true;
    }
    const request: DispatchRequest =
      size === 1
        ? { n: first.name, p: [first.payload], i: [first.id] }
        : {
            n: sameName ? first.name : calls.map((c) => c.name),
            p: calls.map((c) => c.payload),
            i: calls.map((c) => c.id),
          };
    if (size > 1) this.batched += size;
    if (retried) request.a = calls.map((c) => c.attempt);
    if (timed) request.to = size === 1 ? first.timeoutMs : calls.map((c) => c.timeoutMs);
    const controller = timed || first.signal ? new AbortController() : undefined;
    const dispatch = this.start(
      new Dispatch(calls, undefined, size, controller, progressCells(timed), Date.now()),
      request,
      first.transfer,
    );
    if (first.signal) {
      dispatch.onCallerAbort = () => {
        dispatch.abortReason ??= 'aborted';
        controller!.abort();
      };
      first.signal.addEventListener('abort', dispatch.onCallerAbort, { once: true });
    }
    if (this.events.enabled) {
      const at = Date.now();
      const now = performance.now();
      for (const c of calls) {
        this.events.emit({
          type: 'task.started',
          taskId: c.id,
          name: c.name,
          attempt: c.attempt,
          source: c.source,
          at,
          queuedMs: now - c.queuedAt,
        });
      }
    }
  }

  private sendChunk(chunk: MapChunk): void {
    const timed = chunk.timeoutMs > 0;
    const request: DispatchRequest = { n: chunk.name, p: chunk.items, i: chunk.idPrefix, o: chunk.offset, s: true };
    if (timed) request.to = chunk.timeoutMs;
    this.start(
      new Dispatch(
        undefined,
        chunk,
        chunk.items.length,
        timed ? new AbortController() : undefined,
        progressCells(timed),
        Date.now(),
      ),
      request,
      chunk.transfer,
    );
  }

  private start(dispatch: Dispatch, request: DispatchRequest, transfer?: TransferListItem[]): Dispatch {
    if (dispatch.progress) {
      request.pr = dispatch.progress;
      request.b = dispatch.base;
      this.watch(dispatch, this.firstDeadline(dispatch));
    }
    this.inflight.add(dispatch);
    this.running += dispatch.size;
    this.pool.run(request, dispatch.controller?.signal, transfer).then(
      (reply) => this.onReply(dispatch, reply),
      (error: unknown) => this.onRejected(dispatch, error),
    );
    return dispatch;
  }

  private firstDeadline(dispatch: Dispatch): number {
    const first = dispatch.timeoutOf(0);
    return first > 0 ? first + this.settings.timeoutGraceMs : PROGRESS_POLL_MS;
  }

  private watch(dispatch: Dispatch, delay: number): void {
    dispatch.timer = setTimeout(() => this.checkProgress(dispatch), Math.max(1, delay));
    dispatch.timer.unref();
  }

  /**
   * Reads which call the thread is on and when it started it (no message
   * needed: the thread writes both to shared memory), and stops the thread if
   * that call is past its deadline. Runs once per deadline, not per call.
   */
  private checkProgress(dispatch: Dispatch): void {
    if (!this.inflight.has(dispatch)) return;
    const progress = dispatch.progress!;
    const index = Atomics.load(progress, 0);
    if (index < 0) {
      // Not started yet: the message is in transit or the thread is still
      // booting its context. The clock of a call starts when the call does.
      this.watch(dispatch, this.firstDeadline(dispatch));
      return;
    }
    const startedAt = dispatch.base + Atomics.load(progress, 1);
    const limit = dispatch.timeoutOf(index);
    if (limit <= 0) {
      this.watch(dispatch, PROGRESS_POLL_MS);
      return;
    }
    const deadline = startedAt + limit + this.settings.timeoutGraceMs;
    const now = Date.now();
    if (now < deadline) {
      this.watch(dispatch, deadline - now);
      return;
    }
    dispatch.abortReason = 'timeout';
    dispatch.culprit = index;
    // piscina terminates the thread running an aborted task: this is what
    // stops a handler stuck in `while (true) {}`.
    dispatch.controller!.abort();
  }

  /** Share of the threads' time spent running tasks since start, 0..1. */
  utilization(threads: number): number {
    const now = Date.now();
    let busy = this.busyMs;
    for (const dispatch of this.inflight) busy += now - dispatch.base;
    return Math.min(1, busy / Math.max(1, (now - this.since) * threads));
  }

  private finish(dispatch: Dispatch): void {
    this.busyMs += Date.now() - dispatch.base;
    this.inflight.delete(dispatch);
    this.running -= dispatch.size;
    if (dispatch.timer) clearTimeout(dispatch.timer);
    if (dispatch.onCallerAbort) dispatch.calls![0]!.signal!.removeEventListener('abort', dispatch.onCallerAbort);
  }

  private onReply(dispatch: Dispatch, reply: DispatchReply): void {
    this.finish(dispatch);
    this.pool.afterReply(reply);
    if (dispatch.chunk) {
      const executed = reply.v.length || 1;
      this.timing.record(dispatch.chunk.name, reply.t / executed);
      if (reply.f) this.failed++;
      else this.completed += dispatch.size;
      dispatch.chunk.done(reply);
    } else {
      const calls = dispatch.calls!;
      const emit = this.events.enabled;
      for (let i = 0; i < calls.length; i++) {
        const call = calls[i]!;
        const ms = reply.d?.[i] ?? reply.t;
        this.timing.record(call.name, ms);
        const failure = reply.f?.[i];
        if (failure) {
          this.failed++;
          if (failure.k === 'timeout') {
            this.timedOut++;
            if (emit)
              this.events.emit({
                type: 'task.timed-out',
                taskId: call.id,
                name: call.name,
                attempt: call.attempt,
                source: call.source,
                at: Date.now(),
                timeoutMs: call.timeoutMs,
              });
          }
          call.done({ ok: false, reason: failure.k, error: failure.e, ms, tid: reply.tid });
        } else {
          this.completed++;
          if (emit) {
            this.events.emit({
              type: 'task.completed',
              taskId: call.id,
              name: call.name,
              attempt: call.attempt,
              source: call.source,
              at: Date.now(),
              durationMs: ms,
              threadId: reply.tid,
            });
          }
          call.done({ ok: true, value: reply.v[i], ms, tid: reply.tid });
        }
      }
    }
    this.pump();
  }

  private onRejected(dispatch: Dispatch, error: unknown): void {
    this.finish(dispatch);
    const reason = dispatch.abortReason ?? (this.stopping ? 'shutdown' : undefined);
    if (dispatch.chunk) {
      this.failChunk(dispatch, reason, error);
    } else if (reason === 'timeout') {
      const calls = dispatch.calls!;
      const culprit = calls[dispatch.culprit]!;
      this.timedOut++;
      this.events.emit({
        type: 'task.timed-out',
        taskId: culprit.id,
        name: culprit.name,
        attempt: culprit.attempt,
        source: culprit.source,
        at: Date.now(),
        timeoutMs: culprit.timeoutMs,
      });
      this.fail(culprit, 'timeout', new TaskTimeoutError(culprit.name, culprit.timeoutMs));
      // The calls before the culprit ran, but their results died with the
      // thread; the calls after it never started. All run again, alone.
      this.requeue(calls.filter((c) => c !== culprit));
    } else if (reason === 'aborted' || reason === 'shutdown') {
      for (const call of dispatch.calls!) {
        this.fail(call, reason, reason === 'aborted' ? call.signal?.reason : new WorkerShutdownError(call.name));
      }
    } else if (dispatch.calls!.length > 1) {
      // Something in the batch killed the thread or could not be sent; run
      // each call on its own so that only the culprit fails.
      this.requeue(dispatch.calls!);
    } else {
      const call = dispatch.calls![0]!;
      if (isDataCloneError(error)) {
        const bad = findUncloneable(call.payload, 'payload');
        this.fail(
          call,
          'invalid-payload',
          new NotCloneableError(call.name, 'payload', bad?.path ?? 'payload', bad?.type ?? 'not cloneable', {
            cause: error,
          }),
        );
      } else {
        this.crashed++;
        const crash = new WorkerCrashedError(call.name, describeCrash(error), { cause: error });
        this.events.emit({
          type: 'worker.crashed',
          at: Date.now(),
          error: crash.message,
          taskId: call.id,
          name: call.name,
        });
        this.fail(call, 'crash', crash);
      }
    }
    this.pump();
  }

  private failChunk(dispatch: Dispatch, reason: string | undefined, error: unknown): void {
    const chunk = dispatch.chunk!;
    this.failed++;
    const index = chunk.offset + Math.max(0, dispatch.progress ? Atomics.load(dispatch.progress, 0) : 0);
    let local: Error;
    let kind: CallFailureReason;
    if (reason === 'timeout') {
      this.timedOut++;
      kind = 'timeout';
      local = new TaskTimeoutError(chunk.name, chunk.timeoutMs);
    } else if (reason === 'shutdown') {
      kind = 'shutdown';
      local = new WorkerShutdownError(chunk.name);
    } else if (isDataCloneError(error)) {
      kind = 'invalid-payload';
      const bad = findUncloneable(chunk.items, 'items');
      local = new NotCloneableError(chunk.name, 'payload', bad?.path ?? 'items', bad?.type ?? 'not cloneable', {
        cause: error,
      });
    } else {
      this.crashed++;
      kind = 'crash';
      local = new WorkerCrashedError(chunk.name, describeCrash(error), { cause: error });
    }
    chunk.done(undefined, {
      ok: false,
      reason: kind,
      error: serializeError(local),
      local,
      index: dispatch.culprit >= 0 ? chunk.offset + dispatch.culprit : index,
    });
  }

  private fail(call: Call, reason: CallFailureReason, error: unknown): void {
    this.failed++;
    const local = error instanceof Error ? error : undefined;
    call.done({ ok: false, reason, error: serializeError(error ?? new Error(reason)), local });
  }

  private requeue(calls: Call[]): void {
    for (const call of calls) call.solo = true;
    this.queue.returnToFront(calls);
  }

  /** Queued loop tasks, taken out so the loop can hand them back to the client. */
  takeQueued(match: (entry: QueueEntry) => boolean): QueueEntry[] {
    const taken = this.queue.removeWhere(match);
    this.queue.notifyRoom();
    this.pump();
    return taken;
  }

  /** Resolves when nothing is queued or in flight, or at `deadline` (epoch ms); true when idle. */
  async whenIdle(deadline: number): Promise<boolean> {
    if (this.inflight.size === 0 && this.queue.length === 0) return true;
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
   * Shutdown past the deadline: everything still queued, parked or in flight
   * ends with reason 'shutdown'. In-flight dispatches end when their threads
   * are stopped (`ThreadPool.close`), which rejects them.
   */
  stop(): void {
    this.stopping = true;
    for (const entry of this.queue.removeWhere(() => true)) this.failEntry(entry);
    for (const entry of this.queue.takeParked(() => undefined)) this.failEntry(entry);
    for (const dispatch of this.inflight) {
      dispatch.abortReason ??= 'shutdown';
      dispatch.controller?.abort();
    }
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  private failEntry(entry: QueueEntry): void {
    if (entry instanceof Call) {
      this.fail(entry, 'shutdown', new WorkerShutdownError(entry.name));
    } else {
      const local = new WorkerShutdownError(entry.name);
      entry.done(undefined, {
        ok: false,
        reason: 'shutdown',
        error: serializeError(local),
        local,
        index: entry.offset,
      });
    }
  }

  private wakeIdle(): void {
    if (this.idleWaiters.length === 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

function batchable(call: Call): boolean {
  return call.batchable && !call.solo && call.signal === undefined && call.transfer === undefined;
}

/** Shared cells through which a thread reports progress: [call index, start ms]. */
function progressCells(timed: boolean): Int32Array | undefined {
  if (!timed) return undefined;
  const cells = new Int32Array(new SharedArrayBuffer(8));
  cells[0] = -1;
  return cells;
}
