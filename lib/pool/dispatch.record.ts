import type { TransferListItem } from 'node:worker_threads';
import type { DispatchRequest } from '../boundary/dispatch.protocol.js';
import type { Call, MapChunk } from './call.record.js';

/** Why the dispatcher stopped a dispatch's thread itself. */
export type AbortCause = 'timeout' | 'aborted' | 'shutdown' | 'cancelled';

/** One message in flight to a thread: one call, a batch of calls, or one `map()` chunk. */
export class Dispatch {
  readonly startedAt = Date.now();
  readonly request: DispatchRequest;
  /**
   * Calls or items, counted before sending: a typed-array chunk's buffer is
   * transferred, which leaves its length 0 on this side.
   */
  readonly size: number;
  /** Only made when the dispatch can be stopped: it has a deadline or a caller's signal. */
  readonly controller?: AbortController;
  /**
   * Shared cells the thread writes before each call: [0] its index, [1] its
   * start in ms since `startedAt`. Only for dispatches with a deadline.
   */
  readonly progress?: Int32Array;
  /** Index of the call found past its deadline. */
  culprit = -1;
  cause?: AbortCause;
  /** The deadline watch's timer. */
  timer?: NodeJS.Timeout;
  /** Timers that stop the thread of a cancelled call still running after the grace period. */
  cancelTimers?: NodeJS.Timeout[];
  private readonly onCallerAbort?: () => void;

  private constructor(
    readonly calls: readonly Call[] | undefined,
    readonly chunk: MapChunk | undefined,
    request: DispatchRequest,
    timed: boolean,
    private readonly callerSignal?: AbortSignal,
    cancellable = false,
  ) {
    this.request = request;
    this.size = calls ? calls.length : chunk!.items.length;
    if (timed) {
      this.progress = new Int32Array(new SharedArrayBuffer(8));
      this.progress[0] = -1;
      request.pr = this.progress;
      request.b = this.startedAt;
    }
    if (timed || callerSignal || cancellable) this.controller = new AbortController();
    if (callerSignal) {
      this.onCallerAbort = () => this.abort('aborted');
      callerSignal.addEventListener('abort', this.onCallerAbort, { once: true });
    }
  }

  /** One call, or a batch of calls that may differ in name, attempt and timeout. */
  static ofCalls(calls: readonly Call[]): Dispatch {
    const first = calls[0]!;
    const size = calls.length;
    let timed = first.timeoutMs > 0;
    let sameName = true;
    let retried = first.attempt !== 1;
    let cancellable = first.cancellable;
    for (let i = 1; i < size; i++) {
      const call = calls[i]!;
      if (call.timeoutMs > 0) timed = true;
      if (call.cancellable) cancellable = true;
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
    if (retried) request.a = calls.map((c) => c.attempt);
    if (timed) request.to = size === 1 ? first.timeoutMs : calls.map((c) => c.timeoutMs);
    // Only a call that travels alone has a signal (see CallBatcher).
    return new Dispatch(calls, undefined, request, timed, first.signal, cancellable);
  }

  static ofChunk(chunk: MapChunk): Dispatch {
    const timed = chunk.timeoutMs > 0;
    const request: DispatchRequest = { n: chunk.name, p: chunk.items, i: chunk.idPrefix, o: chunk.offset, s: true };
    if (timed) request.to = chunk.timeoutMs;
    return new Dispatch(undefined, chunk, request, timed, chunk.signal);
  }

  get transfer(): TransferListItem[] | undefined {
    return this.calls ? this.calls[0]!.transfer : this.chunk!.transfer;
  }

  timeoutOf(index: number): number {
    return this.chunk ? this.chunk.timeoutMs : (this.calls![index]?.timeoutMs ?? 0);
  }

  /** Index of the call the thread is on, or -1 before the first (or when not tracked). */
  currentIndex(): number {
    return this.progress ? Atomics.load(this.progress, 0) : -1;
  }

  /**
   * Stops the dispatch: piscina terminates the thread running an aborted
   * task, which is what ends a handler stuck in `while (true) {}`. The first
   * cause sticks.
   */
  abort(cause: AbortCause): void {
    this.cause ??= cause;
    this.controller?.abort();
  }

  /** Drops what the dispatch holds on to once it has settled. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.cancelTimers) for (const timer of this.cancelTimers) clearTimeout(timer);
    if (this.onCallerAbort) this.callerSignal!.removeEventListener('abort', this.onCallerAbort);
  }
}
