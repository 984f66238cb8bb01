import type { LoggerService } from '@nestjs/common';
import type * as Grpc from '@grpc/grpc-js';
import { Backoff } from '../../common/backoff.js';
import { describeThrown } from '../../clients/kit/json.encoder.js';
import { RECONNECT_BACKOFF } from '../../clients/kit/reconnect.backoff.js';
import { WarningThrottle } from '../../common/warning.throttle.js';
import type { RegisteredTask } from '../../interfaces/task-client.interface.js';
import { registeredToWire } from '../wire.codec.js';
import type { GrpcChannel } from './grpc.channel.js';

interface WatchEvent {
  lease_ms: number;
  available: boolean;
  /** Absent from a server older than cancel notices. */
  cancelled?: string[];
}

/**
 * The Watch stream: open while anyone watches, an event each time tasks may
 * be ready. A stream that breaks (the server restarted, the link dropped) is
 * opened again after a backoff; each (re)open sends the worker's registered
 * tasks (a restarted server learns them back) and wakes the watchers once,
 * since wake-ups sent while the stream was down were lost. Cancel notices
 * sent while it was down are lost too: the holder of such a task learns it
 * at its next lease extension, which reports the delivery lost.
 */
export class WatchStream {
  private readonly listeners = new Set<() => void>();
  private readonly cancelListeners = new Set<(ids: readonly string[]) => void>();
  private readonly backoff = new Backoff(RECONNECT_BACKOFF);
  private call?: Grpc.ClientReadableStream<WatchEvent>;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  /** A broken stream is warned of at most every 30 s. */
  private readonly breaks = new WarningThrottle();

  constructor(
    private readonly channel: GrpcChannel,
    private readonly tasks: () => readonly RegisteredTask[],
    private readonly onLease: (leaseMs: number) => void,
    private readonly logger: LoggerService,
  ) {}

  add(listener: () => void): () => void {
    return this.subscribe(this.listeners, listener);
  }

  /** Calls `listener` with the ids of tasks cancelled while running (whoever holds them). */
  addCancels(listener: (ids: readonly string[]) => void): () => void {
    return this.subscribe(this.cancelListeners, listener);
  }

  private get watched(): boolean {
    return this.listeners.size > 0 || this.cancelListeners.size > 0;
  }

  private subscribe<L>(set: Set<L>, listener: L): () => void {
    set.add(listener);
    if (!this.call && !this.retryTimer) void this.open();
    return () => {
      set.delete(listener);
      if (!this.watched) this.end();
    };
  }

  close(): void {
    this.stopped = true;
    this.end();
  }

  private end(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const call = this.call;
    this.call = undefined;
    call?.cancel();
  }

  private async open(): Promise<void> {
    if (this.stopped || !this.watched) return;
    let call: Grpc.ClientReadableStream<WatchEvent>;
    try {
      call = await this.channel.stream<WatchEvent>('Watch', { tasks: registeredToWire(this.tasks()) });
    } catch (error) {
      this.broken(error);
      return;
    }
    if (this.stopped || !this.watched) {
      call.cancel();
      return;
    }
    this.call = call;
    call.on('data', (event: WatchEvent) => {
      this.backoff.reset();
      if (event.lease_ms > 0) this.onLease(event.lease_ms);
      if (event.cancelled && event.cancelled.length > 0)
        for (const listener of this.cancelListeners) listener(event.cancelled);
      if (event.available) for (const listener of this.listeners) listener();
    });
    const over = (error?: unknown) => {
      if (this.call !== call) return;
      this.call = undefined;
      this.broken(error);
    };
    call.on('error', (error: Grpc.ServiceError) => over(this.channel.error('Watch', error)));
    call.on('end', () => over());
  }

  private broken(error: unknown): void {
    if (this.stopped || !this.watched) return;
    if (error !== undefined && this.breaks.due()) {
      this.logger.warn(
        `Watch stream ended: ${describeThrown(error, 600)} Opening it again; meanwhile idle fetches long-poll.`,
      );
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.open();
    }, this.backoff.next());
    this.retryTimer.unref();
  }
}
