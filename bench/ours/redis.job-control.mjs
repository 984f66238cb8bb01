/**
 * What job control costs on Redis, at the client (no threads, no loop: the
 * figures are the store's own), as bench/ours/pg.job-control.mjs measures
 * PostgreSQL. Per round a fresh queue is filled with `enqueueMany()` in
 * batches of 1000 (timed: "enqueue/s"), with a distinct `uniqueKey` per task
 * when `uniqueKeys`, and then drained by hand by 2 concurrent fetchers, as a
 * loop with prefetch would: fetch(500), then (when `permits`) one
 * `acquirePermits()` per batch, then one `publish()` of the completions
 * (timed: "jobs/s"). `permits`: 'concurrency' asks concurrencyPerKey 1e6
 * over 100 keys (never denied: the cost of asking and of holding), 'rate' a
 * rate limit of 1e9 per second (the same). `totalPerSec` is enqueue and
 * drain together.
 */
import { createDurableClient } from '../lib/clients.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';

const KEYS = 100;

subjectMain(async ({ url, count, warmupCount, rounds, uniqueKeys = false, permits = 'none' }) => {
  const tag = `bench-jc-${process.pid}`;
  let index = 0;
  return measureRounds({
    rounds,
    size: count,
    warmupSize: warmupCount ?? count,
    round: async (n) => {
      const queue = `${tag}-${index++}`;
      const client = await createDurableClient('redis', url, queue);
      try {
        const e0 = performance.now();
        for (let offset = 0; offset < n; offset += 1000) {
          const batch = [];
          for (let i = offset; i < Math.min(n, offset + 1000); i++) {
            batch.push({
              name: 'noop',
              payload: null,
              ...(uniqueKeys ? { uniqueKey: `k${i}` } : {}),
              ...(permits === 'concurrency' ? { concurrencyKey: `t${i % KEYS}` } : {}),
            });
          }
          await client.enqueueMany(batch);
        }
        const enqueueMs = performance.now() - e0;
        let done = 0;
        let denied = 0;
        const drainer = async () => {
          while (done < n) {
            // A Redis fetch waits for tasks until its signal aborts: the other drainer may hold the last ones.
            const tasks = await client.fetch(500, AbortSignal.timeout(250));
            if (tasks.length === 0) continue;
            let granted = tasks;
            if (permits !== 'none') {
              const answers = await client.acquirePermits(
                tasks.map((task) =>
                  permits === 'rate'
                    ? { task, rateLimit: { max: 1e9, intervalMs: 1000 } }
                    : { task, concurrencyPerKey: 1e6 },
                ),
              );
              granted = tasks.filter((_, i) => answers[i].granted);
              const back = tasks.filter((_, i) => !answers[i].granted);
              denied += back.length;
              if (back.length > 0) await client.publish(back.map((task) => ({ status: 'released', task })));
            }
            await client.publish(granted.map((task) => ({ status: 'completed', task, result: null, durationMs: 0 })));
            done += granted.length;
          }
        };
        const d0 = performance.now();
        await Promise.all([drainer(), drainer()]);
        const drainMs = performance.now() - d0;
        if (denied > 0) throw new Error(`${denied} permit(s) denied: the bench asks for limits that never deny`);
        const counts = await client.counts();
        if (counts.completed !== n) throw new Error(`expected ${n} completed, counts ${JSON.stringify(counts)}`);
        return {
          perSec: (n * 1000) / drainMs,
          ms: drainMs,
          count: n,
          enqueuePerSec: (n * 1000) / enqueueMs,
          totalPerSec: (n * 1000) / (enqueueMs + drainMs),
        };
      } finally {
        const keys = await client.redis.keys(`nw-bench:${queue}:*`);
        for (let i = 0; i < keys.length; i += 1000) await client.redis.unlink(...keys.slice(i, i + 1000));
        await client.close();
      }
    },
  });
});
