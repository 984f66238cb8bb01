/**
 * What job control costs on PostgreSQL, at the client (no threads, no loop:
 * the figures are the store's own). Per round a fresh schema and queue are
 * filled with `enqueueMany()` in batches of 1000 (timed: "enqueue/s"), with
 * a distinct `uniqueKey` per task when `uniqueKeys`, and then drained by
 * hand by 2 concurrent fetchers, as a loop with prefetch would: fetch(500),
 * then (when `permits`) one `acquirePermits()` per batch, then one
 * `publish()` of the completions (timed: "jobs/s"). `permits`:
 * 'concurrency' asks concurrencyPerKey 1e6 over 100 keys (never denied:
 * the cost of asking), 'rate' a rate limit of 1e9 per second (the same).
 * `totalPerSec` is enqueue and drain together.
 */
import { createDurableClient } from '../lib/clients.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';

async function adminQuery(url, sql) {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

const KEYS = 100;

subjectMain(async ({ url, count, warmupCount, rounds, uniqueKeys = false, permits = 'none' }) => {
  const tag = `bench_jc_${process.pid}`;
  let index = 0;
  return measureRounds({
    rounds,
    size: count,
    warmupSize: warmupCount ?? count,
    round: async (n) => {
      const schema = `${tag}_${index++}`;
      const client = await createDurableClient('postgres', url, schema, { schema });
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
        const never = new AbortController().signal;
        let done = 0;
        let denied = 0;
        const drainer = async () => {
          while (done < n) {
            const tasks = await client.fetch(500, never);
            if (tasks.length === 0) {
              await new Promise((r) => setTimeout(r, 5));
              continue;
            }
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
        await client.close();
        await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
    },
  });
});
