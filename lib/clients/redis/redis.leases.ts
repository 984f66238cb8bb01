import type { TaskEnvelope } from '../../interfaces/task-client.interface.js';
import { opOn, type Op, type RedisReceipt } from './redis.codec.js';
import type { RedisOps } from './redis.ops.js';

/** One delivery: an entry and its delivery count (a takeover of the same entry is another delivery). */
export const deliveryKey = (r: { band: number; entryId: string; deliveries: number }) =>
  `${r.band}:${r.entryId}:${r.deliveries}`;

/** Lost deliveries remembered until their outcome comes (a loop that drops them never publishes one). */
const LOST_KEPT = 100_000;

const receiptOf = (task: TaskEnvelope): RedisReceipt | undefined => {
  const r = task.receipt as RedisReceipt | undefined;
  return r && typeof r.entryId === 'string' ? r : undefined;
};

/**
 * Leases of delivered entries. A lease is the entry's idle time in the
 * consumer group: XAUTOCLAIM takes an entry over once nobody touched it for
 * `leaseMs` (an unstarted one sooner, see scripts/fetch.lua.ts). The worker
 * loop keeps them: every `leaseMs / 3` it calls `extendLeases()` with every
 * task it holds, those whose outcomes still wait to be published included
 * (were those left to run out, another consumer would run finished tasks
 * again). A process that stops extending (died, frozen, cut off) loses its
 * entries; that is the point.
 *
 * Besides, the deliveries made to this process and not settled yet are
 * remembered, so that after a reconnect those pending for this consumer
 * that nobody here holds (delivered by a reply that was lost) can be told
 * apart and given back, and so that a data loss can say what this process held.
 */
export class RedisLeases {
  private readonly held = new Map<string, TaskEnvelope>();
  /** Deliveries an extension found lost, each reported once; forgotten when their outcome comes, the oldest past LOST_KEPT. */
  private readonly lost = new Set<string>();
  lostCount = 0;

  constructor(
    private readonly ops: RedisOps,
    private readonly leaseMs: number,
  ) {}

  has(band: number, entryId: string, deliveries: number): boolean {
    return this.held.has(deliveryKey({ band, entryId, deliveries }));
  }

  /** What this process holds (delivered and not settled), oldest first. */
  get holding(): readonly TaskEnvelope[] {
    return [...this.held.values()];
  }

  add(task: TaskEnvelope & { receipt: RedisReceipt }): void {
    this.held.set(deliveryKey(task.receipt), task);
  }

  forget(task: TaskEnvelope): void {
    const r = receiptOf(task);
    if (r) this.held.delete(deliveryKey(r));
  }

  /** Whether an extension found this delivery lost and said so (its stale outcome need not be logged again). */
  reported(task: TaskEnvelope): boolean {
    const r = receiptOf(task);
    return r !== undefined && this.lost.delete(deliveryKey(r));
  }

  /**
   * Resets the idle time of the entries of `tasks` (XCLAIM JUSTID to itself,
   * fenced) and returns those of `tasks` whose delivery this consumer no
   * longer holds: the lease ran out and the entry was taken over (by another
   * consumer, or by this one again after a stall). Not lost: a delivery this
   * process settled meanwhile, and one whose data Redis lost (that is
   * reported as a data loss; the task exists nowhere else). `fresh` are the
   * lost ones not returned before. A delivery of a cancelled task is lost
   * too (its entry was taken from this consumer), but it is no lost lease:
   * it is neither counted nor in `fresh`.
   */
  async extend(tasks: readonly TaskEnvelope[]): Promise<{ lost: TaskEnvelope[]; fresh: number }> {
    const byKey = new Map<string, TaskEnvelope[]>();
    const ops: Op[] = [];
    for (const task of tasks) {
      const r = receiptOf(task);
      if (!r) continue;
      const key = deliveryKey(r);
      const same = byKey.get(key);
      if (same) same.push(task);
      else {
        byKey.set(key, [task]);
        // The lease travels with the op: a concurrency permit the delivery holds lives as long.
        ops.push(opOn('extend', r, task.id, task.attempt, this.leaseMs));
      }
    }
    const applied = await this.ops.apply(ops);
    const keys = [...byKey.keys()];
    const lost: TaskEnvelope[] = [];
    let fresh = 0;
    applied.forEach((result, i) => {
      if (result.status !== 'stale' && result.status !== 'cancelled') return;
      const key = keys[i]!;
      if (result.status === 'cancelled') {
        lost.push(...byKey.get(key)!);
        this.held.delete(key);
        return;
      }
      if (!this.lost.has(key)) {
        fresh++;
        this.lost.add(key);
      }
      lost.push(...byKey.get(key)!);
      this.held.delete(key);
    });
    for (const key of this.lost) {
      if (this.lost.size <= LOST_KEPT) break;
      this.lost.delete(key);
    }
    this.lostCount += fresh;
    return { lost, fresh };
  }
}
