/**
 * What job control costs at the client of a durable store (no threads, no
 * loop: the figures are the store's own), the same program for every store:
 * bench/ours/pg.job-control.mjs and bench/ours/redis.job-control.mjs only
 * say how to open, fetch from and clean up their store. Per round a fresh
 * queue is filled with `enqueueMany()` in batches of 1000 (timed:
 * "enqueue/s"), with a distinct `uniqueKey` per task when `uniqueKeys`, and
 * then drained by hand by 2 concurrent fetchers, as a loop with prefetch
 * would: fetch(500), then (when `permits`) one `acquirePermits()` per batch,
 * then one `publish()` of the completions (timed: "jobs/s"). `permits`:
 * 'concurrency' asks concurrencyPerKey 1e6 over 100 keys (never denied: the
 * cost of asking and of holding), 'rate' a rate limit of 1e9 per second (the
 * same). `totalPerSec` is enqueue and drain together.
 */
import { measureRounds, subjectMain } from '../lib/subject.mjs';

const KEYS = 100;

/**
 * @param store `open(url, round)` a migrated client on a queue of its own for
 * round number `round`; `fetch(client)` up to 500 deliveries, an empty array
 * when there were none for a moment; `dispose(client, url, round)` closes the
 * client and removes what the round left in the store.
 */
export function jobControlDrain(store) {
  subjectMain(async ({ url, count, warmupCount, rounds, uniqueKeys = false, permits = 'none' }) => {
    let index = 0;
    return measureRounds({
      rounds,
      size: count,
      warmupSize: warmupCount ?? count,
      round: async (n) => {
        const round = index++;
        const client = await store.open(url, round);
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
              const tasks = await store.fetch(client);
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
          await store.dispose(client, url, round);
        }
      },
    });
  });
}
