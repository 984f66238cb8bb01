/** At most one progress message per call per this many ms. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Throttles one call's `ctx.progress()`: at most one message per interval,
 * the latest value winning (sent when the interval is up, by the next report
 * or by a timer). The first interval counts from the call's start, so a call
 * shorter than that sends no message at all: its last value travels with
 * the reply (DispatchReply.g), which is all a short task's progress is worth.
 * Checked against the clock on every report, not only by the timer: a
 * synchronous handler that reports from a busy loop never lets a timer run,
 * and still sends every interval. Made on the first report only.
 */
export class ProgressThrottle {
  /** The latest value reported, sent or not. */
  latest: unknown;
  private pending = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly send: (value: unknown) => void,
    /** `performance.now()` when the call started, or when the last message went. */
    private sentAt: number,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  push(value: unknown): void {
    this.latest = value;
    const now = performance.now();
    const wait = this.sentAt + this.intervalMs - now;
    if (wait <= 0) {
      this.flush(now);
      return;
    }
    this.pending = true;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.pending) this.flush(performance.now());
      }, wait);
      this.timer.unref();
    }
  }

  /** The call ended: nothing more is sent (its latest value travels with the reply). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = false;
  }

  private flush(now: number): void {
    this.pending = false;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.sentAt = now;
    this.send(this.latest);
  }
}
