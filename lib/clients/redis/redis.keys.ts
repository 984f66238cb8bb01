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
