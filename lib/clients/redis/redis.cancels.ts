import type { Redis } from 'ioredis';
import { runScript, Scripts } from './redis.commands.js';
import type { RedisConnections } from './redis.connections.js';
import { GROUP, type RedisKeys } from './redis.keys.js';

/**
 * `cancel(id)` and `watchCancels()`. The CANCEL script marks the task
 * cancelled and takes its entry from whoever holds it (see
 * scripts/cancel.lua.ts), then publishes the id on `<base>cancels` when a
 * consumer held it. Every process that watches has one subscriber
 * connection on that channel, shared by its watchers. A notice missed while
 * that connection was down costs only the cancelled task's run: its holder's
 * outcome is fenced and its next lease extension finds the delivery lost.
 */
export class RedisCancels {
  private readonly watchers = new Set<(ids: readonly string[]) => void>();
  private sub?: Redis;

  constructor(
    private readonly conns: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly consumer: string,
    private readonly keepCompletedMs: number,
  ) {}

  async cancel(id: string): Promise<boolean> {
    const args = [GROUP, this.consumer, this.keys.recordPrefix, id, this.keepCompletedMs];
    return Number(await runScript(this.conns.command, Scripts.cancel, this.keys.scriptKeys, args)) === 1;
  }

  watch(onCancel: (ids: readonly string[]) => void): () => void {
    this.watchers.add(onCancel);
    if (!this.sub) {
      const sub = this.conns.subscriber();
      sub.on('message', (channel: string, id: string) => {
        if (channel !== this.keys.cancels) return;
        for (const watcher of this.watchers) watcher([id]);
      });
      // A failed SUBSCRIBE is retried by ioredis with the connection; nothing to add here.
      sub.subscribe(this.keys.cancels).catch(() => undefined);
      this.sub = sub;
    }
    return () => {
      if (!this.watchers.delete(onCancel) || this.watchers.size > 0) return;
      this.sub?.disconnect();
      this.sub = undefined;
    };
  }

  close(): void {
    this.watchers.clear();
    this.sub?.disconnect();
    this.sub = undefined;
  }
}
