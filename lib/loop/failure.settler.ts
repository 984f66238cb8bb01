import type { LoggerService } from '@nestjs/common';
import type { TaskFailure } from '../boundary/task.failure.js';
import { logText } from '../common/log-text.js';
import type {
  FailedOutcome,
  RetryOutcome,
  TaskEnvelope,
  TaskFailureReason,
} from '../interfaces/task-client.interface.js';
import type { TaskRegistry } from '../task.registry.js';
import type { ErrorRedactor } from './error.redactor.js';
import type { LoopEvents } from './loop.events.js';
import type { RetryPolicy } from './retry.policy.js';

/**
 * Turns a failed attempt of a loop delivery into its outcome: another
 * attempt after the task's backoff, or a dead letter. The error is redacted
 * first, because from here on it is stored, logged and emitted.
 */
export class FailureSettler {
  constructor(
    private readonly registry: TaskRegistry,
    private readonly retries: RetryPolicy,
    private readonly redactor: ErrorRedactor,
    private readonly events: LoopEvents,
    private readonly logger: LoggerService,
    private readonly debug: boolean,
  ) {}

  settle(task: TaskEnvelope, failure: TaskFailure<TaskFailureReason>): RetryOutcome | FailedOutcome {
    const { reason } = failure;
    const error = this.redactor.redact(failure.error, task);
    const definition = this.registry.get(task.name);
    const maxAttempts = task.maxAttempts ?? definition?.maxAttempts ?? 1;
    const decision = this.retries.decide(
      reason,
      error,
      task.attempt,
      maxAttempts,
      definition?.backoff ?? this.registry.defaultBackoff,
    );
    if (!decision.retry) {
      // A dead letter is worth a line at the default level: someone has to look at it.
      this.logger.warn(
        `Task ${logText(task.name)}#${logText(task.id)} failed for good after attempt ${task.attempt} of ${maxAttempts} (${reason}): ${logText(error.name)}: ${logText(error.message, 500)}`,
      );
      return { status: 'failed', task, reason, error };
    }
    const nextAttempt = task.attempt + 1;
    if (this.debug) {
      this.logger.debug?.(
        `Task ${logText(task.name)}#${logText(task.id)} attempt ${task.attempt} failed (${reason}: ${logText(error.message, 500)}); attempt ${nextAttempt} in ${decision.delayMs} ms.`,
      );
    }
    this.events.retrying(task, { reason, error, nextAttempt, delayMs: decision.delayMs });
    return {
      status: 'retry',
      task,
      reason,
      error,
      nextAttempt,
      delayMs: decision.delayMs,
      runAt: Date.now() + decision.delayMs,
    };
  }
}
