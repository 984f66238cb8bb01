/**
 * Peer: BullMQ on the same Redis server, draining `count` queued no-op jobs.
 * The processor hands each job to a raw piscina pool of the same 2 threads
 * (BullMQ runs processors in the main thread); `concurrency` jobs are in
 * flight at once, set to the fastest value we found (see BENCHMARKS.md).
 * Completed jobs are kept (BullMQ's default), as our client keeps them.
 */
import { Queue, Worker } from 'bullmq';
import { completionTracker, enqueueInBatches, serverMeter } from '../lib/durable.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';
import { createPool, warmThreads } from './piscina.mjs';

subjectMain(async ({ url, count, warmupCount, rounds, workers = 2, concurrency = 1000 }) => {
  const pool = createPool(workers);
  await warmThreads(pool, workers);
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port), db: 2, maxRetriesPerRequest: null };
  let index = 0;
  const server = serverMeter(url);
  try {
    return await measureRounds({
      rounds,
      size: count,
      warmupSize: warmupCount ?? count,
      round: async (n) => {
        const name = `bench_${process.pid}_${index++}`;
        const queue = new Queue(name, { connection });
        const enqueuePerSec = await enqueueInBatches(n, (batch) =>
          queue.addBulk(batch.map(() => ({ name: 'noop', data: null }))),
        );
        server.start();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const tracker = completionTracker(n);
        const worker = new Worker(name, (job) => pool.run(job.data, { name: 'noop' }), { connection, concurrency });
        worker.on('error', (error) => console.error('BullMQ worker error:', error.message));
        worker.on('completed', () => tracker.add(1));
        const t1 = await tracker.end(
          async () => (await queue.getJobCounts('completed')).completed,
          async () => (await queue.getJobCounts('failed')).failed,
        );
        const cpu = process.cpuUsage(cpu0);
        await worker.close();
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
        const ms = t1 - t0;
        return {
          perSec: (n * 1000) / ms,
          ms,
          count: n,
          enqueuePerSec,
          cpuMsPerTask: (cpu.user + cpu.system) / 1000 / n,
          serverCpuMsPerTask: server.perTask(n),
          concurrency,
        };
      },
    });
  } finally {
    await pool.destroy();
  }
});
