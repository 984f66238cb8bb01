/** Exponential backoff: `initialMs * factor^(n-1)`, capped at `maxMs`, then jittered. */
export interface BackoffOptions {
  /** Delay after the first failure, in ms. */
  initialMs: number;
  /** Growth per further failure. */
  factor: number;
  /** Cap of the delay before jitter, in ms. */
  maxMs: number;
  /**
   * `'full'`: uniform in [0, delay]; `'equal'`: uniform in [delay/2, delay];
   * `'none'`: exactly the delay. Jitter keeps many processes that failed
   * together (a database restart) from all coming back in the same millisecond.
   */
  jitter: 'full' | 'equal' | 'none';
}

/** Largest delay `setTimeout` honours; Node turns anything longer into 1 ms (and warns). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Delay before the next try after `failures` consecutive failures (1-based). */
export function backoffDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const { initialMs, factor, maxMs, jitter } = options;
  const computed = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, failures - 1)));
  if (jitter === 'full') return Math.round(random() * computed);
  if (jitter === 'equal') return Math.round(computed / 2 + (random() * computed) / 2);
  return Math.round(computed);
}

/**
 * The delay of a loop that retries something until it works (reconnecting,
 * publishing, polling an empty source): grows with each failure, resets on
 * the first success.
 */
export class Backoff {
  private count = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failures so far. */
  get failures(): number {
    return this.count;
  }

  /** Records a failure and returns how long to wait before the next try. */
  next(): number {
    this.count++;
    return backoffDelay(this.count, this.options, this.random);
  }

  reset(): void {
    this.count = 0;
  }
}

/**
 * Resolves after `ms` (or at once when `signal` aborts). Delays longer than
 * `setTimeout` can hold are slept in steps, so a far-off due time never turns
 * into Node's 1 ms fallback and a busy loop.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    let timer: NodeJS.Timeout;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const until = Date.now() + Math.max(0, ms);
    const arm = () => {
      const left = until - Date.now();
      if (left <= 0) return done();
      timer = setTimeout(left > MAX_TIMER_MS ? arm : done, Math.min(left, MAX_TIMER_MS));
    };
    signal?.addEventListener('abort', done, { once: true });
    arm();
  });
}
