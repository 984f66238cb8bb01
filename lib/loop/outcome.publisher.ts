import type { LoggerService } from '@nestjs/common';
import { Backoff, sleep } from '../common/backoff.js';
import type { TaskClient, TaskOutcome } from '../interfaces/task-client.interface.js';

/**
 * Sends outcomes to the client in batches (at most `batchSize`, at most
 * `intervalMs` late), from a loop of its own so that a slow `publish()` never
 * holds up dispatching. A failed publish is kept and retried in order:
 * outcomes are never dropped while the process lives.
 */
export class OutcomePublisher {
  private buffer: TaskOutcome[] = [];
  private sending: readonly TaskOutcome[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  /** Pause after a failed publish: the client may be reconnecting. */
  private readonly retryDelays = new Backoff({ initialMs: 100, factor: 2, maxMs: 5000, jitter: 'equal' });
  published = 0;

  constructor(
    private readonly client: TaskClient,
    private readonly batchSize: number,
    private readonly intervalMs: number,
    private readonly logger: LoggerService,
  ) {}

  get pending(): number {
    return this.buffer.length;
  }

  /** Tasks whose outcome is not published yet: a durable client must keep their leases. */
  unpublished(): TaskOutcome['task'][] {
    return [...this.sending, ...this.buffer].map((o) => o.task);
  }

  push(outcome: TaskOutcome): void {
    this.buffer.push(outcome);
    if (this.flushing) return;
    if (this.buffer.length >= this.batchSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.intervalMs);
  }

  /** Publishes everything buffered; resolves when empty or at `deadline` (epoch ms). Returns what is left. */
  async flush(deadline: number): Promise<number> {
    while (this.buffer.length > 0 || this.flushing) {
      if (Date.now() >= deadline) break;
      this.kick();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.flushing,
        new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
    }
    return this.buffer.length;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.flushing || this.buffer.length === 0) return;
    this.flushing = this.drain().finally(() => {
      this.flushing = undefined;
      if (this.buffer.length > 0) this.timer ??= setTimeout(() => this.kick(), this.intervalMs);
    });
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.length <= this.batchSize ? this.buffer : this.buffer.slice(0, this.batchSize);
      if (batch === this.buffer) this.buffer = [];
      else this.buffer = this.buffer.slice(batch.length);
      this.sending = batch;
      try {
        await this.client.publish(batch);
        this.published += batch.length;
        this.retryDelays.reset();
      } catch (error) {
        // Put the batch back in front, in order, and retry after the pause.
        this.buffer = batch.concat(this.buffer);
        const delay = this.retryDelays.next();
        this.logger.warn(
          `Publishing ${batch.length} outcome(s) failed (${(error as Error)?.message ?? error}); retrying in ${delay} ms.`,
        );
        await sleep(delay);
        return;
      } finally {
        this.sending = [];
      }
    }
  }
}
