import type { TaskClient, TaskEnvelope } from '../../interfaces/task-client.interface.js';

interface Waiter {
  readonly max: number;
  readonly deadline: number;
  finish(tasks: TaskEnvelope[]): void;
  fail(error: unknown): void;
}

/** Most tasks one store fetch asks for, whatever the waiting workers want together. */
const MAX_BATCH = 1000;
/** Sleep between empty store fetches when nothing wakes the server (a store without watch() that does not block). */
const POLL_MS = 1000;
/** A store fetch that returned empty after blocking at least this long needs no sleep after it (it long-polls itself). */
const BLOCKED_MS = 20;

/**
 * Fetches of every remote worker, served by one store fetch at a time.
 * A store client is one consumer: the PostgreSQL client shares one claim
 * statement, the Redis client one blocking connection, so the server asks
 * for what all waiting workers want together and hands the batch out in
 * arrival order. A fetch waits (long-poll) until tasks come, its deadline
 * passes or its caller goes; an idle server sleeps until the store's
 * watch() (or an enqueue through the server) wakes it. Tasks fetched for
 * nobody (every caller left meanwhile) are released back to the store.
 */
export class FetchCoordinator {
  private readonly waiters: Waiter[] = [];
  private pumping = false;
  private inFlight?: AbortController;
  private sleeping?: () => void;
  private woken = false;
  private closed = false;

  constructor(
    private readonly store: TaskClient,
    private readonly release: (tasks: readonly TaskEnvelope[]) => void,
  ) {}

  fetch(max: number, waitMs: number, cancelled: AbortSignal): Promise<TaskEnvelope[]> {
    if (this.closed || cancelled.aborted) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = () => {
        clearTimeout(timer);
        cancelled.removeEventListener('abort', onCancel);
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        // Nobody left to serve: end a store fetch that is blocking (Redis) now.
        if (this.waiters.length === 0) this.inFlight?.abort();
      };
      const waiter: Waiter = {
        max,
        deadline: Date.now() + waitMs,
        finish: (tasks) => {
          leave();
          resolve(tasks);
        },
        fail: (error) => {
          leave();
          reject(error);
        },
      };
      const onCancel = () => waiter.finish([]);
      cancelled.addEventListener('abort', onCancel, { once: true });
      // A store fetch may block until tasks come (Redis): the deadline answers the waiter itself.
      if (waitMs > 0) {
        timer = setTimeout(() => waiter.finish([]), waitMs);
        timer.unref();
      }
      this.waiters.push(waiter);
      this.wake();
      void this.pump();
    });
  }

  /** Tasks may be ready (the store's watch(), an enqueue, a released task): fetch again now. */
  wake(): void {
    this.woken = true;
    const sleeping = this.sleeping;
    this.sleeping = undefined;
    sleeping?.();
  }

  /** Answers every waiting fetch with nothing and stops. */
  close(): void {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.finish([]);
    this.inFlight?.abort();
    this.wake();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed && this.waiters.length > 0) {
        const want = Math.min(
          MAX_BATCH,
          this.waiters.reduce((sum, w) => sum + w.max, 0),
        );
        const controller = (this.inFlight = new AbortController());
        const startedAt = Date.now();
        this.woken = false;
        let tasks: TaskEnvelope[];
        try {
          tasks = [...(await this.store.fetch(want, controller.signal))];
        } catch (error) {
          for (const waiter of [...this.waiters]) waiter.fail(error);
          continue;
        } finally {
          this.inFlight = undefined;
        }
        if (tasks.length > 0) {
          for (const waiter of [...this.waiters]) {
            if (tasks.length === 0) break;
            waiter.finish(tasks.splice(0, waiter.max));
          }
          if (tasks.length > 0) this.release(tasks);
          continue;
        }
        const now = Date.now();
        for (const waiter of [...this.waiters]) if (waiter.deadline <= now) waiter.finish([]);
        if (this.waiters.length === 0 || this.woken || controller.signal.aborted) continue;
        if (now - startedAt >= BLOCKED_MS && !this.canWatch) continue;
        await this.sleep(Math.min(POLL_MS, ...this.waiters.map((w) => w.deadline - now)));
      }
    } finally {
      this.pumping = false;
    }
  }

  private get canWatch(): boolean {
    return typeof this.store.watch === 'function';
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.sleeping = done;
    });
  }
}
