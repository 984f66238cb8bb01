import { TaskTimeoutError } from '../errors/worker.errors.js';
import type { TaskContext } from '../interfaces/task-context.interface.js';
import { ProgressThrottle } from './progress.throttle.js';

/** Where a call's throttled progress goes (the runtime: checked, then posted to the main thread). */
export interface ProgressSink {
  sendProgress(ctx: CallContext, value: unknown): void;
}

/**
 * The `ctx` a handler receives. Its AbortSignal (and the timer behind it) is
 * only made when a handler reads `ctx.signal`, and its progress throttle on
 * the first `ctx.progress()`: most handlers use neither, and a controller
 * plus a timer per call would be most of a no-op task's cost.
 */
export class CallContext implements TaskContext {
  private controller?: AbortController;
  private timer?: NodeJS.Timeout;
  private throttle?: ProgressThrottle;
  /** Set by `cancel()`: the signal's reason, now or when it is first read. */
  private cancelledBy?: Error;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly attempt: number,
    readonly threadId: number,
    readonly timeoutMs: number,
    private readonly startedAt: number,
    private readonly sink: ProgressSink,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancelledBy) this.controller.abort(this.cancelledBy);
      else if (this.timeoutMs > 0) {
        const left = this.startedAt + this.timeoutMs - performance.now();
        const abort = () => this.controller!.abort(new TaskTimeoutError(this.name, this.timeoutMs));
        if (left <= 0) abort();
        else this.timer = setTimeout(abort, left);
      }
    }
    return this.controller.signal;
  }

  /** True when the handler's time ran out while it was still running. */
  get timedOut(): boolean {
    if (this.timeoutMs <= 0) return false;
    return (
      (this.controller?.signal.aborted === true && this.cancelledBy === undefined) ||
      performance.now() - this.startedAt >= this.timeoutMs
    );
  }

  get cancelled(): boolean {
    return this.cancelledBy !== undefined;
  }

  progress(value: unknown): void {
    (this.throttle ??= new ProgressThrottle((latest) => this.sink.sendProgress(this, latest), this.startedAt)).push(
      value,
    );
  }

  /** Whether the handler reported any progress, and the latest value. */
  get progressed(): boolean {
    return this.throttle !== undefined;
  }

  get latestProgress(): unknown {
    return this.throttle?.latest;
  }

  /** The task was cancelled: aborts `ctx.signal` with `reason` (at once, or when the handler first reads it). */
  cancel(reason: Error): void {
    if (this.cancelledBy) return;
    this.cancelledBy = reason;
    if (this.timer) clearTimeout(this.timer);
    this.controller?.abort(reason);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.throttle?.stop();
  }
}
