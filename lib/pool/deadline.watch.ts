import type { Dispatch } from './dispatch.record.js';

/**
 * Enforces each call's timeout from its own start, batches included. Reads
 * which call the thread is on and when it started it from the dispatch's
 * shared cells (no message per call), and reports a call past its deadline
 * plus grace. One timer per dispatch, armed for the soonest moment any call
 * could be overdue, not one per call.
 */
export class DeadlineWatch {
  constructor(
    private readonly graceMs: number,
    private readonly onOverdue: (dispatch: Dispatch, index: number) => void,
  ) {}

  watch(dispatch: Dispatch): void {
    if (dispatch.progress) this.arm(dispatch, this.soonest(dispatch, 0));
  }

  private arm(dispatch: Dispatch, delay: number): void {
    if (delay === Infinity) return;
    dispatch.timer = setTimeout(() => this.check(dispatch), Math.max(1, delay));
    dispatch.timer.unref();
  }

  private check(dispatch: Dispatch): void {
    const progress = dispatch.progress!;
    // The thread stores the start before the index: read in the opposite
    // order, an index is never paired with an older call's start.
    const index = Atomics.load(progress, 0);
    if (index < 0) {
      // Not started yet: the message is in transit or the thread is still
      // booting its context. The clock of a call starts when the call does.
      this.arm(dispatch, this.soonest(dispatch, 0));
      return;
    }
    const limit = dispatch.timeoutOf(index);
    let next = Infinity;
    if (limit > 0) {
      const deadline = dispatch.startedAt + Atomics.load(progress, 1) + limit + this.graceMs;
      next = deadline - Date.now();
      if (next <= 0) {
        this.onOverdue(dispatch, index);
        return;
      }
    }
    // A later call starts no earlier than now, so it is overdue no earlier
    // than its own limit from now.
    this.arm(dispatch, Math.min(next, this.soonest(dispatch, index + 1)));
  }

  /** Shortest limit (plus grace) among the calls from `from` on; Infinity when none has one. */
  private soonest(dispatch: Dispatch, from: number): number {
    if (from >= dispatch.size) return Infinity;
    if (dispatch.chunk) return dispatch.chunk.timeoutMs > 0 ? dispatch.chunk.timeoutMs + this.graceMs : Infinity;
    let shortest = Infinity;
    for (let i = from; i < dispatch.size; i++) {
      const limit = dispatch.timeoutOf(i);
      if (limit > 0 && limit < shortest) shortest = limit;
    }
    return shortest + this.graceMs;
  }
}
