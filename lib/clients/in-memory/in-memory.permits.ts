import type { PermitAnswer, PermitRequest, TaskEnvelope } from '../../interfaces/task-client.interface.js';

/**
 * What a delivery denied by its key's concurrency is told to wait. The store
 * cannot know when a running task of the key ends; the loop's permit gate
 * stretches this to a share of the task's typical run time (see
 * lib/loop/permit.gate.ts), so this is only the floor.
 */
export const CONCURRENCY_RETRY_MS = 25;

/** A concurrency permit: which key it counts against, and which delivery holds it. */
interface Permit {
  readonly slot: string;
  readonly receipt: unknown;
}

/**
 * Rate limits and concurrency keys of the in-memory client
 * (`TaskClient.acquirePermits()`). Single-threaded, so each batch is
 * answered atomically, request by request in order: a request sees the
 * permits granted to the ones before it in the same batch.
 *
 * - Concurrency: a count per (task name, key), and the permit each task id
 *   holds, tagged with its delivery's receipt. The permit goes back when an
 *   outcome of that delivery is published (`release()`, any status), even
 *   one the store fences: the delivery is over for its holder either way.
 * - Rate: a sliding log of grant times per task name, trimmed to the
 *   interval on each ask (at most `max` entries are kept).
 */
export class InMemoryPermits {
  private readonly running = new Map<string, number>();
  private readonly holders = new Map<string, Permit>();
  private readonly starts = new Map<string, number[]>();

  acquire(requests: readonly PermitRequest[], now = Date.now()): PermitAnswer[] {
    if (!Array.isArray(requests)) throw new TypeError('InMemoryTaskClient.acquirePermits(): expected an array.');
    return requests.map((request) => this.one(request, now));
  }

  /** The delivery's outcome was published: its concurrency permit, if it holds one, is free again. */
  release(task: TaskEnvelope): void {
    const permit = this.holders.get(task.id);
    if (!permit || permit.receipt !== task.receipt) return;
    this.holders.delete(task.id);
    const left = (this.running.get(permit.slot) ?? 1) - 1;
    if (left > 0) this.running.set(permit.slot, left);
    else this.running.delete(permit.slot);
  }

  /** Concurrency permits held now (for tests and the bench). */
  get held(): number {
    return this.holders.size;
  }

  private one({ task, rateLimit, concurrencyPerKey }: PermitRequest, now: number): PermitAnswer {
    const slot =
      concurrencyPerKey !== undefined && task.concurrencyKey !== undefined
        ? JSON.stringify([task.name, task.concurrencyKey])
        : undefined;
    const holding = this.holders.get(task.id);
    // Asked again for a delivery that already holds its permit (a retried
    // call): granted, without counting it twice or using another start.
    if (holding && holding.receipt === task.receipt) return { granted: true };
    // A permit of an earlier delivery of the task that was never given back
    // (its outcome was lost): that delivery is over, since this one exists.
    if (holding) this.release({ ...task, receipt: holding.receipt });
    // Concurrency first: a request it denies must not use a start of the rate window.
    if (slot !== undefined && (this.running.get(slot) ?? 0) >= concurrencyPerKey!) {
      return { granted: false, retryAfterMs: CONCURRENCY_RETRY_MS };
    }
    if (rateLimit) {
      const log = this.window(task.name, rateLimit.intervalMs, now);
      if (log.length >= rateLimit.max) {
        // The start that must leave the window before one more fits.
        const freesAt = log[log.length - rateLimit.max]! + rateLimit.intervalMs;
        return { granted: false, retryAfterMs: Math.max(1, freesAt - now) };
      }
      log.push(now);
      // Only the newest `max` entries can ever decide an answer.
      if (log.length > rateLimit.max) log.splice(0, log.length - rateLimit.max);
    }
    if (slot !== undefined) {
      this.running.set(slot, (this.running.get(slot) ?? 0) + 1);
      this.holders.set(task.id, { slot, receipt: task.receipt });
    }
    return { granted: true };
  }

  /** The grant times of `name` still inside the interval ending now, oldest first. */
  private window(name: string, intervalMs: number, now: number): number[] {
    let log = this.starts.get(name);
    if (!log) this.starts.set(name, (log = []));
    let drop = 0;
    while (drop < log.length && log[drop]! <= now - intervalMs) drop++;
    if (drop > 0) log.splice(0, drop);
    return log;
  }
}
