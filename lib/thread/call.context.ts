import { TaskTimeoutError } from '../errors/worker.errors.js';
import type { TaskContext } from '../interfaces/task-context.interface.js';

/**
 * The `ctx` a handler receives. Its AbortSignal (and the timer behind it) is
 * only made when a handler reads `ctx.signal`: most handlers never do, and a
 * controller plus a timer per call would be most of a no-op task's cost.
 */
export class CallContext implements TaskContext {
  private controller?: AbortController;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly attempt: number,
    readonly threadId: number,
    readonly timeoutMs: number,
    private readonly startedAt: number,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.timeoutMs > 0) {
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
    return this.controller?.signal.aborted === true || performance.now() - this.startedAt >= this.timeoutMs;
  }

  progress(_value: unknown): void {}

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
