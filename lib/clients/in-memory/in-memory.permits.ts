import type { PermitAnswer, PermitRequest, TaskEnvelope } from '../../interfaces/task-client.interface.js';

/**
 * What a delivery denied by its key's concurrency is told to wait. A store
 * that cannot know when a running task of the key ends answers short, and
 * the loop's permit gate stretches that to a share of the task's typical
 * run time (lib/loop/permit.gate.ts). This store does know: a freed permit
 * wakes the oldest delivery waiting for it (`waitingFor()`), so the delay is
 * only the fallback for a wake that found nobody waiting yet (the denied
 * delivery's release was still on its way). Long, because every denied
 * delivery that comes back by its delay costs a fetch, an ask and a release
 * again: 2000 waiting on a 25 ms delay were 80 000 of those a second.
 */
export const CONCURRENCY_RETRY_MS = 1000;

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
  /** Task ids denied by each key's concurrency, oldest first: who a freed permit may wake. */
  private readonly waiting = new Map<string, Set<string>>();

  acquire(requests: readonly PermitRequest[], now = Date.now()): PermitAnswer[] {
    if (!Array.isArray(requests)) throw new TypeError('InMemoryTaskClient.acquirePermits(): expected an array.');
    return requests.map((request) => this.one(request, now));
  }

  /**
   * The delivery's outcome was published: its concurrency permit, if it
   * holds one, is free again. Returns the key it freed, if any.
   */
  release(task: TaskEnvelope): string | undefined {
    const permit = this.holders.get(task.id);
    if (!permit || permit.receipt !== task.receipt) return undefined;
    this.holders.delete(task.id);
    const left = (this.running.get(permit.slot) ?? 1) - 1;
    if (left > 0) this.running.set(permit.slot, left);
    else this.running.delete(permit.slot);
    return permit.slot;
  }

  /**
   * The ids of tasks denied by `slot`'s concurrency, oldest first. The
   * client wakes the first one that waits out its delay (and removes the
   * ones that no longer wait: `forget()`), so a freed permit is taken at
   * once instead of after the denied delivery's delay. One still on its way
   * back (its release not yet published) is left for the next wake; its
   * delay is the fallback.
   */
  waitingFor(slot: string): Iterable<string> {
    return this.waiting.get(slot) ?? [];
  }

  /** `id` no longer waits for `slot`. */
  forget(slot: string, id: string): void {
    const ids = this.waiting.get(slot);
    if (ids?.delete(id) && ids.size === 0) this.waiting.delete(slot);
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
      let ids = this.waiting.get(slot);
      if (!ids) this.waiting.set(slot, (ids = new Set()));
      ids.add(task.id);
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
      this.forget(slot, task.id);
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
