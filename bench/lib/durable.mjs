/** Shared by the PostgreSQL / Redis drain subjects, ours and the peers. */
import { setTimeout as sleep } from 'node:timers/promises';
import { findServerPid, serverCpuMs } from './proc.mjs';

/**
 * CPU the database server spends, for the "server CPU per task" context
 * figure: `start()` before the timed region, `stop(count)` after.
 */
export function serverMeter(url) {
  const { protocol, port } = new URL(url);
  const pid = findServerPid(protocol.startsWith('postgres') ? 'postgres' : 'redis-server', port);
  let from;
  return {
    pid,
    start() {
      from = pid ? serverCpuMs(pid) : undefined;
    },
    perTask(count) {
      if (!pid || from === undefined) return undefined;
      const now = serverCpuMs(pid);
      return now === undefined ? undefined : (now - from) / count;
    },
  };
}

/** Enqueues `count` no-op tasks through `add(batch)`, 1000 per call; returns enqueued per second. */
export async function enqueueInBatches(count, add, make = () => null, batchSize = 1000) {
  const t0 = performance.now();
  for (let offset = 0; offset < count; offset += batchSize) {
    const n = Math.min(batchSize, count - offset);
    const batch = new Array(n);
    for (let i = 0; i < n; i++) batch[i] = make(offset + i);
    await add(batch);
  }
  return (count * 1000) / (performance.now() - t0);
}

/**
 * The end of a drain, the same way for every subject: each side reports its
 * completion writes as they commit (ours: `publish()` resolved; pg-boss: its
 * `complete()` statement returned; BullMQ: the worker's 'completed' event,
 * emitted after the job was moved to completed in Redis). When they add up
 * to `count`, the database is asked once (not timed) whether every task is
 * completed there; if not (a stale outcome was ignored and the task ran
 * again), it is polled until it is, and that moment is the end.
 * Polling the database all along would load it, and not the same for both
 * sides (our counts() groups the whole queue by state).
 */
export function completionTracker(count) {
  let done = 0;
  let reach;
  const reached = new Promise((resolve) => (reach = resolve));
  return {
    add(n) {
      done += n;
      if (done >= count) reach(performance.now());
    },
    get done() {
      return done;
    },
    async end(completedInDb, failedInDb) {
      // A slow watchdog (every 5 s) so that failed tasks end the round with an error instead of a hang.
      let timer;
      const watchdog = new Promise((_, reject) => {
        const check = async () => {
          try {
            const bad = await failedInDb();
            if (bad > 0) return reject(new Error(`${bad} task(s) failed`));
          } catch (error) {
            return reject(error);
          }
          timer = setTimeout(check, 5000);
        };
        timer = setTimeout(check, 5000);
      });
      let at;
      try {
        at = await Promise.race([reached, watchdog]);
      } finally {
        clearTimeout(timer);
      }
      if ((await completedInDb()) >= count) return at;
      return waitForCompleted(completedInDb, count, { failed: failedInDb });
    },
  };
}

/**
 * Polls `completed()` every `intervalMs` until it reaches `count` (or a
 * deadline); both subjects of a backend are polled the same way, so the
 * polling's own load and its resolution (±intervalMs) are the same for both.
 */
export async function waitForCompleted(completed, count, { intervalMs = 100, timeoutMs = 30 * 60_000, failed } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = await completed();
    if (done >= count) return performance.now();
    if (failed) {
      const bad = await failed();
      if (bad > 0) throw new Error(`${bad} task(s) failed`);
    }
    if (Date.now() > deadline) throw new Error(`only ${done} of ${count} completed after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
