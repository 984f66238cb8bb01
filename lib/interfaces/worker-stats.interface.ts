/** A snapshot returned by `WorkerManager.stats()`. Counters run since bootstrap. */
export interface WorkerStats {
  /** Tasks waiting in the bounded queue. */
  readonly queued: number;
  /** Producers (`run()` / `map()` callers) waiting for room in the queue. */
  readonly waiting: number;
  /** Capacity of the queue. */
  readonly queueSize: number;
  /** Tasks running in threads now. */
  readonly running: number;
  readonly completed: number;
  /**
   * Attempts that ended without a result, for any reason: errors, timeouts,
   * crashes, cancellations (`cancel(id)`, counted in `cancelled` too) and
   * callers' aborts (`signal`).
   */
  readonly failed: number;
  readonly timedOut: number;
  readonly crashed: number;
  /**
   * Worker-loop deliveries cancelled while this process held them (`cancel(id)`
   * here or in another process): dropped before they started, or aborted.
   */
  readonly cancelled: number;
  /** Tasks that travelled to a thread in one message with others (micro-batching). */
  readonly batched: number;
  readonly workers: {
    /** Threads the pool keeps. */
    readonly size: number;
    /** Threads alive now (fewer while a replacement starts). */
    readonly alive: number;
    /** Share of the pool's time spent running tasks since start, 0..1. */
    readonly utilization: number;
    /** Replacement threads that could not boot their Nest context since start (a database down, say). */
    readonly bootFailures: number;
  };
  /** State of the worker loop. */
  readonly loop: 'idle' | 'running' | 'paused' | 'stopping' | 'stopped';
}
