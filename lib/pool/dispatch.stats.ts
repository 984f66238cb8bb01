import type { CallFailureReason } from '../boundary/task.failure.js';
import type { Dispatch } from './dispatch.record.js';

/** The dispatcher's counters, as `WorkerManager.stats()` reports them. Counted since start. */
export interface DispatchCounts {
  /** Tasks running in threads now. */
  readonly running: number;
  readonly completed: number;
  /** Failed calls (and failed `map()` chunks), whatever the reason. */
  readonly failed: number;
  readonly timedOut: number;
  readonly crashed: number;
  /** Tasks that shared a thread message with others. */
  readonly batched: number;
}

/** Counts what the dispatcher does, and how busy the threads are. */
export class DispatchStats implements DispatchCounts {
  running = 0;
  completed = 0;
  failed = 0;
  timedOut = 0;
  crashed = 0;
  batched = 0;
  /** Thread time spent on finished dispatches (piscina 5.3's own utilization is off by 1000x). */
  private busyMs = 0;
  private readonly since = Date.now();

  sent(dispatch: Dispatch): void {
    this.running += dispatch.size;
    if (dispatch.calls && dispatch.size > 1) this.batched += dispatch.size;
  }

  finished(dispatch: Dispatch): void {
    this.running -= dispatch.size;
    this.busyMs += Date.now() - dispatch.startedAt;
  }

  failedWith(reason: CallFailureReason): void {
    this.failed++;
    if (reason === 'timeout') this.timedOut++;
    else if (reason === 'crash') this.crashed++;
  }

  /** Share of the threads' time spent running tasks since start, 0..1. */
  utilization(threads: number, inflight: Iterable<Dispatch>): number {
    const now = Date.now();
    let busy = this.busyMs;
    for (const dispatch of inflight) busy += now - dispatch.startedAt;
    return Math.min(1, busy / Math.max(1, (now - this.since) * threads));
  }
}
