import type { SerializedTaskError } from './serialized-error.interface.js';

/** The task whose error is being redacted. */
export interface RedactedTask {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
}

/**
 * WorkerModule's `redact` option: returns the error as it may be stored and
 * logged (drop a token from a message, a customer's data from `props`).
 * Called in the main thread for every failed attempt of a worker loop task,
 * before the outcome goes to the task client (which stores it), before the
 * loop logs it, and before `task.retrying` / `task.failed` events carry it.
 * If it throws or returns no error, a notice replaces the error, never the
 * original.
 */
export type RedactErrorHook = (error: SerializedTaskError, task: RedactedTask) => SerializedTaskError;
