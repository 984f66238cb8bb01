import type { TaskEnvelope } from '../../interfaces/task-client.interface.js';
import { opOn, type Op, type RedisReceipt } from './redis.codec.js';
import type { RedisOps } from './redis.ops.js';

const keyOf = (r: { band: number; entryId: string }) => `${r.band}:${r.entryId}`;

/**
 * Leases of delivered entries. A lease is the entry's idle time in the
 * consumer group: XAUTOCLAIM takes an entry over once nobody touched it for
 * `leaseMs`. The worker loop keeps them: every `leaseMs / 3` it calls
 * `extendLeases()` with every task it holds, those whose outcomes still wait
 * to be published included (were those left to run out, another consumer
 * would run finished tasks again). A process that stops extending (died,
 * frozen, cut off) loses its entries; that is the point.
 *
 * Besides, the entries delivered to this process and not settled yet are
 * remembered, so that after a reconnect those pending for this consumer
 * that nobody here holds (delivered by a reply that was lost) can be told
 * apart and given back.
 */
export class RedisLeases {
  private readonly held = new Set<string>();

  constructor(private readonly ops: RedisOps) {}

  has(band: number, entryId: string): boolean {
    return this.held.has(keyOf({ band, entryId }));
  }

  add(task: TaskEnvelope & { receipt: RedisReceipt }): void {
    this.held.add(keyOf(task.receipt));
  }

  forget(task: TaskEnvelope): void {
    const r = task.receipt as RedisReceipt | undefined;
    if (r && typeof r.entryId === 'string') this.held.delete(keyOf(r));
  }

  /** Resets the idle time of the entries of `tasks` (XCLAIM JUSTID to itself, fenced). */
  async extend(tasks: readonly TaskEnvelope[]): Promise<void> {
    const ops = new Map<string, Op>();
    for (const task of tasks) {
      const r = task.receipt as RedisReceipt | undefined;
      if (r && typeof r.entryId === 'string') ops.set(keyOf(r), opOn('extend', r, task.id, task.attempt));
    }
    if (ops.size > 0) await this.ops.apply([...ops.values()]);
  }
}
