import type { LoggerService } from '@nestjs/common';
import type { Pool } from 'pg';
import { PostgresListener } from './postgres.listener.js';
import type { PostgresStatements } from './postgres.statements.js';

/**
 * Who in this process hears of the queue: loops waiting for work (`watch`)
 * and for cancels of what they run (`watchCancels`). The LISTEN connection
 * runs while anybody watches (with `listen: true`); without it, only this
 * process's own enqueues and cancels reach them (see PostgresProducer).
 */
export class PostgresWatchers {
  private readonly available = new Set<() => void>();
  private readonly cancels = new Set<(ids: readonly string[]) => void>();
  private readonly listener?: PostgresListener;

  constructor(
    pool: Pool,
    sql: PostgresStatements,
    private readonly settings: { queue: string; listen: boolean; logger: LoggerService },
    /** Work that must end before the pool does. */
    private readonly track: (work: Promise<unknown> | undefined) => void,
  ) {
    if (settings.listen) {
      this.listener = new PostgresListener(
        pool,
        sql.listen,
        sql.channel,
        settings.queue,
        () => this.wake(),
        settings.logger,
        sql.cancelChannel,
        (ids) => this.cancelled(ids),
      );
    }
  }

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  watch(onAvailable: () => void): () => void {
    this.available.add(onAvailable);
    this.listener?.start();
    return () => {
      this.available.delete(onAvailable);
      this.stopListeningIfUnwatched();
    };
  }

  watchCancels(onCancel: (ids: readonly string[]) => void): () => void {
    this.cancels.add(onCancel);
    this.listener?.start();
    return () => {
      this.cancels.delete(onCancel);
      this.stopListeningIfUnwatched();
    };
  }

  wake(): void {
    for (const watcher of this.available) watcher();
  }

  cancelled(ids: readonly string[]): void {
    for (const watcher of this.cancels) {
      try {
        watcher(ids);
      } catch (error) {
        this.settings.logger.warn(`A cancel watcher threw: ${String((error as Error)?.message ?? error)}`);
      }
    }
  }

  async stop(): Promise<void> {
    await this.listener?.stop();
  }

  private stopListeningIfUnwatched(): void {
    if (this.available.size === 0 && this.cancels.size === 0) this.track(this.listener?.stop());
  }
}
