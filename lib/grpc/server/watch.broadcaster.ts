import type * as Grpc from '@grpc/grpc-js';

interface WatchEvent {
  lease_ms: number;
  available: boolean;
}

/**
 * The open Watch streams, and the wake-ups sent on them: one event per
 * stream per turn of the event loop however many enqueues came in it, and
 * none to a stream that has not taken the last one yet (a wake-up is a
 * hint; one pending is as good as ten).
 */
export class WatchBroadcaster {
  private readonly streams = new Set<Grpc.ServerWritableStream<unknown, WatchEvent>>();
  private scheduled = false;

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
    call.write({ lease_ms: this.leaseMs, available: true });
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

  close(): void {
    for (const call of this.streams) call.end();
    this.streams.clear();
  }
}
