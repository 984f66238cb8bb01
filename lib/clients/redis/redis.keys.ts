import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Priority bands, read in this order: one stream each. */
export const BANDS = ['high', 'normal', 'low'] as const;
export type Band = 0 | 1 | 2;

/** Consumer group shared by every process of a queue (one group: each entry goes to one consumer). */
export const GROUP = 'workers';

/**
 * Every key of one queue, all under `<prefix>:<queue>:`. The scripts reach
 * record keys they were not given as KEYS, which a single node (or Sentinel
 * setup) allows and Redis Cluster does not: Cluster is not supported.
 */
export class RedisKeys {
  /** Streams by band: `:stream:high`, `:stream` (normal, where foreign producers write), `:stream:low`. */
  readonly streams: readonly [string, string, string];
  /** Sorted set of task ids scored by the epoch ms at which they are due. */
  readonly delayed: string;
  /** Dead-letter stream. */
  readonly dead: string;
  /** Hash of counters (completed, failed). */
  readonly stats: string;
  /** Prefix of the per-task record hashes: `<base>task:<id>`. */
  readonly recordPrefix: string;
  /** Hash of the deliveries that reached a worker thread: `<band>:<entry id>` → delivery count. */
  readonly started: string;
  /** Hash of when each consumer last extended its leases (server ms): which of those that extend went silent. */
  readonly heartbeats: string;
  /**
   * A random token the first consumer writes and every consumer remembers:
   * when it changes or vanishes, the server lost the queue's data.
   */
  readonly epoch: string;
  /**
   * Pub/sub channel on which cancel(id) publishes the id of a task that a
   * consumer held (see scripts/cancel.lua.ts); every watchCancels() listens.
   */
  readonly cancels: string;
  /** Hash of schedule markers: schedule key → the last tick fired or recorded (epoch ms). */
  readonly schedules: string;
  /*
   * Made by the scripts, not named here (see scoped() in scripts/prelude.lua.ts;
   * <n> is the task name's length in bytes, so no two (name, key) pairs meet):
   * - `unique:<n>:<name>:<key>`: the id of the task holding a unique key while it waits or runs.
   * - `concurrency:<n>:<name>:<key>`: sorted set of the deliveries holding a concurrency
   *   permit (`<band>:<entry id>:<deliveries>`), scored by when their lease runs out.
   * - `rate:<name>`: sliding-window log of a rate-limited task's starts, scored by server ms.
   */

  constructor(prefix: string, queue: string) {
    const base = `${prefix}:${queue}:`;
    this.streams = [`${base}stream:high`, `${base}stream`, `${base}stream:low`];
    this.delayed = `${base}delayed`;
    this.dead = `${base}dead`;
    this.stats = `${base}stats`;
    this.recordPrefix = `${base}task:`;
    this.started = `${base}started`;
    this.heartbeats = `${base}consumers`;
    this.epoch = `${base}epoch`;
    // The scripts derive these from recordPrefix: keep `task:` its last part.
    this.cancels = `${base}cancels`;
    this.schedules = `${base}schedules`;
  }

  record(id: string): string {
    return this.recordPrefix + id;
  }

  /** KEYS of every script, in this order. */
  get scriptKeys(): string[] {
    return [...this.streams, this.delayed, this.dead, this.stats, this.started, this.heartbeats];
  }
}

/** Unique per client instance (several clients in one process never share a consumer). */
export function consumerName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}
