import { describeThrown } from '../clients/kit/json.encoder.js';
import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type { TaskEnvelope } from '../interfaces/task-client.interface.js';
import type { RedactErrorHook } from '../interfaces/error-redaction.interface.js';

/**
 * Applies the app's `redact` hook to a task's error before the worker loop
 * stores it (the outcome it publishes), logs it and emits it. A hook that
 * throws or returns something that is not an error must not let the
 * original through: the error is then replaced by a notice of the failure.
 */
export class ErrorRedactor {
  constructor(private readonly hook: RedactErrorHook | undefined) {}

  redact(error: SerializedTaskError, task: TaskEnvelope): SerializedTaskError {
    if (!this.hook) return error;
    try {
      const redacted = this.hook(error, { id: task.id, name: task.name, attempt: task.attempt });
      if (
        redacted &&
        typeof redacted === 'object' &&
        typeof redacted.name === 'string' &&
        typeof redacted.message === 'string'
      ) {
        return redacted;
      }
      return {
        name: 'Error',
        message: `[redacted: the redact hook returned ${redacted === null ? 'null' : typeof redacted}, not an error]`,
      };
    } catch (thrown) {
      return { name: 'Error', message: `[redacted: the redact hook threw: ${describeThrown(thrown)}]` };
    }
  }
}
