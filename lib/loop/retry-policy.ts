import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type { RetryBackoffOptions } from '../interfaces/worker-module-options.interface.js';
import type { TaskFailureReason } from '../interfaces/task-client.interface.js';

/** Failures that another attempt cannot fix. */
const NEVER_RETRIED = new Set<TaskFailureReason>(['unknown-task', 'invalid-payload', 'invalid-result']);

export interface RetryDecision {
  retry: boolean;
  delayMs: number;
}

/**
 * Decides whether a failed attempt gets another one, and when. The delay is
 * exponential with jitter and a cap: `initialMs * factor^(attempt-1)`, at
 * most `maxMs`, then jittered so that tasks failing together do not all come
 * back together.
 */
export class RetryPolicy {
  private readonly nonRetryable: ReadonlySet<string | number>;

  constructor(
    nonRetryable: ReadonlyArray<string | number>,
    private readonly random: () => number = Math.random,
  ) {
    this.nonRetryable = new Set(nonRetryable);
  }

  decide(
    reason: TaskFailureReason,
    error: SerializedTaskError,
    attempt: number,
    maxAttempts: number,
    backoff: RetryBackoffOptions,
  ): RetryDecision {
    if (
      attempt >= maxAttempts ||
      NEVER_RETRIED.has(reason) ||
      error.retryable === false ||
      this.nonRetryable.has(error.name) ||
      (error.code !== undefined && this.nonRetryable.has(error.code))
    ) {
      return { retry: false, delayMs: 0 };
    }
    return { retry: true, delayMs: this.delay(attempt, backoff) };
  }

  /** Delay before attempt `attempt + 1`. */
  delay(attempt: number, { initialMs, factor, maxMs, jitter }: RetryBackoffOptions): number {
    const computed = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, attempt - 1)));
    if (jitter === 'full') return Math.round(this.random() * computed);
    if (jitter === 'equal') return Math.round(computed / 2 + (this.random() * computed) / 2);
    return Math.round(computed);
  }
}
