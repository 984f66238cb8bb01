/**
 * What a killed Redis consumer held and how long it waited: read from the
 * consumer group right after the kill (the entries pending for the victim's
 * consumer, named `<host>:<pid>:<random>`), then polled until another
 * consumer has taken every one of them.
 */
import type { RedisTaskClient } from '../../lib/redis.js';

interface Held {
  stream: string;
  entryId: string;
  taskId: string;
  /** Attempt of the task when the victim died (the one a lost lease would be charged to). */
  attempt: string;
  /** Ms from the kill until another consumer took the entry over; undefined until then. */
  waitedMs?: number;
}

export interface VictimReport {
  held: number;
  /** Of those, tasks whose attempt at the kill was charged as lost (a LeaseExpiredError for it on record). */
  charged: number;
  /** Taken over by another consumer, and how long after the kill: median and longest. */
  taken: number;
  medianWaitMs: number;
  maxWaitMs: number;
}

const POLL_MS = 25;

export class VictimWatch {
  private held: Held[] = [];
  private victim?: string;
  private killedAt = 0;
  private polling?: Promise<void>;
  private stopped = false;

  constructor(private readonly client: RedisTaskClient) {}

  /** Reads what the consumer of `pid` holds, then polls until all of it moved on (or stop()). */
  async start(pid: number): Promise<void> {
    this.killedAt = Date.now();
    const redis = this.client.redis;
    for (const stream of this.client.keys.streams) {
      const consumers = (await redis.xinfo('CONSUMERS', stream, 'workers').catch(() => [])) as unknown[][];
      for (const info of consumers) {
        const name = String(info[info.indexOf('name') + 1]);
        if (!name.includes(`:${pid}:`)) continue;
        this.victim = name;
        const pending = (await redis.xpending(stream, 'workers', '-', '+', 100_000, name)) as Array<[string]>;
        for (const [entryId] of pending) {
          const [entry] = (await redis.xrange(stream, entryId, entryId)) as Array<[string, string[]]>;
          const fields = entry?.[1] ?? [];
          const taskId = fields[fields.indexOf('id') + 1] ?? entryId;
          const attempt = (await redis.hget(this.client.keys.record(taskId), 'attempt')) ?? '1';
          this.held.push({ stream, entryId, taskId, attempt });
        }
      }
    }
    this.polling = this.poll();
  }

  private async poll(): Promise<void> {
    const redis = this.client.redis;
    while (!this.stopped && this.held.some((h) => h.waitedMs === undefined)) {
      const waiting = this.held.filter((h) => h.waitedMs === undefined);
      const owners = await Promise.all(
        waiting.map((h) => redis.xpending(h.stream, 'workers', h.entryId, h.entryId, 1) as Promise<Array<unknown[]>>),
      );
      const now = Date.now();
      // Moved on: pending for another consumer now, or settled already.
      waiting.forEach((h, i) => {
        if (owners[i]![0]?.[1] !== this.victim) h.waitedMs = now - this.killedAt;
      });
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async report(): Promise<VictimReport> {
    this.stopped = true;
    await this.polling;
    const redis = this.client.redis;
    const lost = await Promise.all(
      this.held.map((h) => redis.hget(this.client.keys.record(h.taskId), `err:${h.attempt}`)),
    );
    const waits = this.held
      .map((h) => h.waitedMs)
      .filter((ms): ms is number => ms !== undefined)
      .sort((a, b) => a - b);
    return {
      held: this.held.length,
      charged: lost.filter((text) => text?.includes('LeaseExpiredError')).length,
      taken: waits.length,
      medianWaitMs: waits[Math.floor(waits.length / 2)] ?? 0,
      maxWaitMs: waits.at(-1) ?? 0,
    };
  }
}
