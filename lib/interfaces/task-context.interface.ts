/** Second argument of every task handler. */
export interface TaskContext {
  /** Task id (stable across attempts); a generated id for `run()` and `map()` calls. */
  readonly id: string;
  /** Name given to `@Task()`. */
  readonly name: string;
  /** 1-based attempt number. */
  readonly attempt: number;
  /** `threadId` of the worker thread running the handler. */
  readonly threadId: number;
  /**
   * Aborted when the task's `timeoutMs` has elapsed. Async handlers that
   * listen to it can stop cleanly before the thread is stopped for them
   * (`timeoutGraceMs` later).
   */
  readonly signal: AbortSignal;
  /**
   * True once the task's `timeoutMs` has elapsed. A synchronous loop cannot
   * see `signal` abort (its event loop is busy), but it can check this and
   * stop cleanly before the thread is terminated for it.
   */
  readonly timedOut: boolean;
}
