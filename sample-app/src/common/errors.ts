import { NonRetryableError } from 'nestjs-worker';

/**
 * Thrown by a task when its input is well-formed but cannot be processed (a
 * file that is not a PNG, a hash string in an unknown format). Retrying would
 * not help, so it extends `NonRetryableError`: the worker loop fails the task
 * at once, and the HTTP layer answers 422.
 */
export class UnprocessableInputError extends NonRetryableError {}
