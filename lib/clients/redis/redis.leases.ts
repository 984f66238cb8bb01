import type { TaskEnvelope } from '../../interfaces/task-client.interface.js';
import { noop } from './redis.abort.js';
import type { RedisReceipt } from './redis.codec.js';
import type { Op, RedisOps } from './redis.ops.js';

type Held = { receipt: RedisReceipt; taskId: string; attempt: number };

const keyOf = (r: { band: number; entryId: string }) => `${r.band}:${r.entryId}`;

/**
 * The entries this process holds: delivered, and not yet settled by an
 * applied outcome. That is more than the worker loop holds: the loop stops
 * counting a task once it has an outcome, but the outcome may wait to be
 * published (batching, or retries while Redis is unreachable). Were those
 * leases left to run out, another consumer would run finished tasks again.
 * So every extension covers all of them, and a timer of our own extends
 * them when the loop has nothing left to extend.
 */
export class RedisLeases {
  private readonly held = new Map<string, Held>();
  private lastExtendedAt = Date.now();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly ops: RedisOps,
    private readonly leaseMs: number,
  ) {}

  has(band: number, entryId: string): boolean {
    return this.held.has(keyOf({ band, entryId }));
  }

  add(task: TaskEnvelope & { receipt: RedisReceipt }): void {
    this.held.set(keyOf(task.receipt), { receipt: task.receipt, taskId: task.id, attempt: task.attempt });
    if (!this.timer) {
      this.timer = setInterval(
        () => {
          if (this.held.size > 0 && Date.now() - this.lastExtendedAt >= this.leaseMs / 2) this.extend([]).catch(noop);
        },
        Math.max(10, Math.floor(this.leaseMs / 3)),
      );
      this.timer.unref();
    }
  }

  forget(task: TaskEnvelope): void {
    const r = task.receipt as RedisReceipt | undefined;
    if (r) this.held.delete(keyOf(r));
  }

  /** Resets the idle time of every held entry, and of `tasks` (XCLAIM JUSTID to itself, fenced). */
  async extend(tasks: readonly TaskEnvelope[]): Promise<void> {
    const all = new Map(this.held);
    for (const task of tasks) {
      const r = task.receipt as RedisReceipt | undefined;
      if (r && typeof r.entryId === 'string') all.set(keyOf(r), { receipt: r, taskId: task.id, attempt: task.attempt });
    }
    if (all.size === 0) return;
    this.lastExtendedAt = Date.now();
    const ops = [...all.values()].map(({ receipt: r, taskId, attempt }): Op => [
      'extend',
      r.band,
      r.entryId,
      r.deliveries,
      taskId,
      attempt,
      '',
      '',
      '',
    ]);
    await this.ops.apply(ops);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
