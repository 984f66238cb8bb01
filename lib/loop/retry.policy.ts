import { backoffDelay } from '../common/backoff.js';
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
 * Decides whether a failed attempt gets another one, and when: after the
 * task's backoff (exponential, capped, jittered so that tasks failing
 * together do not all come back together).
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
  delay(attempt: number, backoff: RetryBackoffOptions): number {
    return backoffDelay(attempt, backoff, this.random);
  }
}
