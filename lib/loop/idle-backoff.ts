/**
 * Sleep between fetches of an empty source: doubles from `minMs` to `maxMs`,
 * resets when work arrives, and ends early on `wake()` (a local enqueue, a
 * NOTIFY) or `interrupt()` (shutdown). No busy loop, and no fixed sleep per
 * task like the seed's 50 ms.
 */
export class IdleBackoff {
  private current: number;
  private wakeUp?: () => void;
  private woken = false;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    this.current = minMs;
  }

  reset(): void {
    this.current = this.minMs;
  }

  /** Sleeps the current delay (then doubles it), unless woken first. */
  async sleep(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    const delay = this.current;
    this.current = Math.min(this.maxMs, this.current * 2);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
    this.wakeUp = undefined;
    this.woken = false;
  }

  /** New work may be ready: end the sleep now, and skip the next one if not sleeping. */
  wake(): void {
    this.reset();
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }
}
