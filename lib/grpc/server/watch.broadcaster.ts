import type * as Grpc from '@grpc/grpc-js';

interface WatchEvent {
  lease_ms: number;
  available: boolean;
  cancelled?: string[];
}

/** Most ids in one cancel event; more go in the next ones. */
const CANCELS_PER_EVENT = 10_000;
/** Most recent cancels remembered for streams that open later. */
const RECENT_CANCELS = 10_000;

/**
 * The open Watch streams, and what is sent on them: wake-ups, one event per
 * stream per turn of the event loop however many enqueues came in it, and
 * none to a stream that has not taken the last one yet (a wake-up is a
 * hint; one pending is as good as ten); and cancel notices, gathered per
 * turn and sent to every stream whatever it has pending (a notice is not a
 * hint: the worker holding the task stops it on it, instead of running it
 * until its next lease extension says it is lost). The cancels of the last
 * lease go again in the first event of a stream that opens: a worker whose
 * stream was down (or not yet open) when a cancel came still hears of it
 * before its extension would.
 */
export class WatchBroadcaster {
  private readonly streams = new Set<Grpc.ServerWritableStream<unknown, WatchEvent>>();
  private scheduled = false;
  private cancels = new Set<string>();
  /** Recent cancels and when, oldest first (a Map keeps insertion order). */
  private readonly recent = new Map<string, number>();

  constructor(private readonly leaseMs: number) {}

  get size(): number {
    return this.streams.size;
  }

  /** Takes a new stream; its first event tells the lease and wakes the worker (it may have missed wake-ups while away). */
  add(call: Grpc.ServerWritableStream<unknown, WatchEvent>): void {
    this.streams.add(call);
    const drop = () => this.streams.delete(call);
    call.on('cancelled', drop);
    call.on('close', drop);
    call.on('error', drop);
    this.prune();
    call.write({ lease_ms: this.leaseMs, available: true, cancelled: [...this.recent.keys()] });
  }

  notify(): void {
    if (this.scheduled || this.streams.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const call of this.streams) {
        if (call.writableLength > 0) continue;
        call.write({ lease_ms: this.leaseMs, available: true });
      }
    });
  }

  /** Tells every worker these tasks were cancelled; each stops those it holds and ignores the rest. */
  cancelled(ids: readonly string[]): void {
    const now = Date.now();
    for (const id of ids) {
      this.recent.delete(id);
      this.recent.set(id, now);
    }
    this.prune();
    if (this.streams.size === 0) return;
    const first = this.cancels.size === 0;
    for (const id of ids) this.cancels.add(id);
    if (!first || this.cancels.size === 0) return;
    setImmediate(() => {
      const ids = [...this.cancels];
      this.cancels = new Set();
      for (let i = 0; i < ids.length; i += CANCELS_PER_EVENT) {
        const event = { lease_ms: this.leaseMs, available: false, cancelled: ids.slice(i, i + CANCELS_PER_EVENT) };
        for (const call of this.streams) call.write(event);
      }
    });
  }

  /** Forgets cancels older than a lease (their holders' extensions have said so by then), and the oldest over the bound. */
  private prune(): void {
    const since = Date.now() - this.leaseMs;
    for (const [id, at] of this.recent) {
      if (at >= since && this.recent.size <= RECENT_CANCELS) break;
      this.recent.delete(id);
    }
  }

  close(): void {
    for (const call of this.streams) call.end();
    this.streams.clear();
  }
}
