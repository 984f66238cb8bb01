/**
 * Peer: pg-boss 10 on the same PostgreSQL server, draining `count` queued
 * no-op jobs. pg-boss runs handlers in the main thread, so the task body runs
 * where ours does: in a raw piscina pool of the same 2 threads. pg-boss is
 * given its fastest settings we found (see BENCHMARKS.md): `loops`
 * concurrent work() loops fetching `batchSize` jobs each, polling at the
 * 0.5 s minimum (a loop that got jobs fetches again at once only when its
 * batch took over 400 ms; otherwise it waits out the interval).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import PgBoss from 'pg-boss';
import { completionTracker, enqueueInBatches, serverMeter } from '../lib/durable.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';
import { createPool, warmThreads } from './piscina.mjs';

/**
 * pg-boss's worker calls its manager's `complete()` after each batch without
 * awaiting it; wrapping it tells when each completion write has returned.
 */
const require = createRequire(import.meta.url);
const Manager = require(join(dirname(require.resolve('pg-boss')), 'manager.js'));
let onCompleted = () => undefined;
const complete = Manager.prototype.complete;
Manager.prototype.complete = async function (...args) {
  const result = await complete.apply(this, args);
  onCompleted(args[0], result?.affected ?? 0);
  return result;
};

subjectMain(async ({ url, count, warmupCount, rounds, workers = 2, batchSize = 10000, loops = 2, analyze = false }) => {
  const pool = createPool(workers);
  await warmThreads(pool, workers);
  const boss = new PgBoss({ connectionString: url, schedule: false, supervise: false, max: 10 });
  boss.on('error', (error) => console.error('pg-boss error:', error.message));
  await boss.start();
  const db = boss.getDb();
  const countIn = async (queue, state) =>
    Number(
      (await db.executeSql(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = $2`, [queue, state]))
        .rows[0].n,
    );
  let index = 0;
  const server = serverMeter(url);
  try {
    return await measureRounds({
      rounds,
      size: count,
      warmupSize: warmupCount ?? count,
      round: async (n) => {
        const queue = `bench_${process.pid}_${index++}`;
        await boss.createQueue(queue);
        const enqueuePerSec = await enqueueInBatches(n, (batch) =>
          boss.insert(batch.map(() => ({ name: queue, data: null }))),
        );
        server.start();
        // Context rows only: fresh planner statistics, as for ours (not timed).
        if (analyze) await db.executeSql('ANALYZE pgboss.job');
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < loops; i++) {
          await boss.work(queue, { batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
            await Promise.all(jobs.map((job) => pool.run(job.data, { name: 'noop' })));
          });
        }
        const tracker = completionTracker(n);
        onCompleted = (name, affected) => name === queue && tracker.add(affected);
        const t1 = await tracker.end(
          () => countIn(queue, 'completed'),
          () => countIn(queue, 'failed'),
        );
        const cpu = process.cpuUsage(cpu0);
        await boss.offWork(queue);
        const ms = t1 - t0;
        return {
          perSec: (n * 1000) / ms,
          ms,
          count: n,
          enqueuePerSec,
          cpuMsPerTask: (cpu.user + cpu.system) / 1000 / n,
          serverCpuMsPerTask: server.perTask(n),
          batchSize,
          loops,
        };
      },
    });
  } finally {
    await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
    await pool.destroy();
  }
});
