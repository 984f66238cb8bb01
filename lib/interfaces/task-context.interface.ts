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
   * Aborted when the task's `timeoutMs` has elapsed, or when the task is
   * cancelled (`WorkerManager.cancel(id)` or the store's `cancel(id)`, in any
   * process); `signal.reason` says which. Async handlers that
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
  /**
   * Reports progress (a number, or any JSON-compatible value): throttled in
   * the thread, it reaches `events$` (`task.progress`) and the task client's
   * store (`get(id).progress`). Cheap to call often; nothing is sent when
   * unused.
   */
  progress(value: unknown): void;
}
