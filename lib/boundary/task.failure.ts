import { TaskAbortedError } from '../errors/worker.errors.js';
import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type { TaskFailureReason } from '../interfaces/task-client.interface.js';
import { deserializeError, serializeError } from './error.serializer.js';

/** Why a call ended without a value: the task failed, its caller aborted it, or the pool shut down. */
export type CallFailureReason = TaskFailureReason | 'aborted' | 'shutdown';

/**
 * A failed call, as one plain value from where it failed (a handler in a
 * thread, the dispatcher, a parked producer) to where it is reported. Plain
 * data, so the same value crosses the thread boundary, goes into a client's
 * outcome and into a `task.failed` event; it becomes an `Error` only once,
 * in `toRejection()`, when `run()` or `map()` rejects.
 */
export interface TaskFailure<R extends CallFailureReason = CallFailureReason> {
  readonly reason: R;
  readonly error: SerializedTaskError;
}

export function taskFailure<R extends CallFailureReason>(reason: R, thrown: unknown): TaskFailure<R> {
  return { reason, error: serializeError(thrown ?? new Error(reason)) };
}

/** The failure of a call its caller aborted; `cause` is the signal's reason. */
export function abortedFailure(taskName: string, cause: unknown): TaskFailure<'aborted'> {
  return taskFailure('aborted', cause instanceof TaskAbortedError ? cause : new TaskAbortedError(taskName, { cause }));
}

/** Which call a rejection belongs to: set on the error as non-enumerable properties. */
export interface RejectionMarks {
  readonly taskName: string;
  readonly taskId?: string;
  /** The failing item of a `map()`. */
  readonly itemIndex?: number;
}

/**
 * The error `run()` / `map()` reject with: the failure's error rebuilt as
 * the class it was thrown as when it is one of the module's (so `instanceof
 * TaskTimeoutError` works), marked with the call it belongs to.
 */
export function toRejection(failure: TaskFailure, marks: RejectionMarks): Error {
  const error = deserializeError(failure.error);
  for (const [key, value] of Object.entries(marks)) {
    if (value !== undefined) Object.defineProperty(error, key, { value, enumerable: false, configurable: true });
  }
  return error;
}
