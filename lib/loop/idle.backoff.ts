import { Backoff, sleep } from '../common/backoff.js';

/**
 * Sleep between fetches of an empty source: doubles from `minMs` to `maxMs`,
 * resets when work arrives, and ends early on `wake()` (a local enqueue, a
 * NOTIFY, shutdown). No busy loop, and no fixed sleep per task.
 */
export class IdleBackoff {
  private readonly delays: Backoff;
  private waking?: AbortController;
  private woken = false;

  constructor(minMs: number, maxMs: number) {
    this.delays = new Backoff({ initialMs: minMs, factor: 2, maxMs, jitter: 'none' });
  }

  reset(): void {
    this.delays.reset();
  }

  /** Sleeps the current delay (then doubles it), unless woken first. */
  async sleep(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    const waking = (this.waking = new AbortController());
    await sleep(this.delays.next(), waking.signal);
    this.waking = undefined;
    this.woken = false;
  }

  /** New work may be ready: end the sleep now, and skip the next one if not sleeping. */
  wake(): void {
    this.reset();
    if (this.waking) this.waking.abort();
    else this.woken = true;
  }
}
