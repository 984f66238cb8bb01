/**
 * Ours, scaled out: `processes` app processes (each with `workers` threads,
 * the default an app would have here) drain one PostgreSQL or Redis queue
 * filled beforehand. Per round: a fresh queue (PostgreSQL: a fresh schema,
 * as in bench/ours/durable.mjs) is filled (untimed), the consumers boot with
 * their loops stopped, all are told to start at once, and the round ends
 * when their completion writes add up to the count and the database agrees
 * (completionTracker, as for the single-process drain).
 *
 * What limits it is reported with the figure: the CPU every consumer process
 * and the database server spent per task, and how busy that kept the
 * machine's cores over the drain (all of it on one 2-core machine here).
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { adminQuery, createDurableClient, durableClientClass } from '../lib/clients.mjs';
import { completionTracker, enqueueInBatches, serverMeter } from '../lib/durable.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';

const consumerFile = fileURLToPath(new URL('./scaleout.consumer.mjs', import.meta.url));

function startConsumer(args, onMessage) {
  const child = fork(consumerFile, [JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`a consumer exited (${code}) before it was ready`)));
    child.on('message', (m) => (m.kind === 'ready' ? resolve() : onMessage(m)));
  });
  const stopped = new Promise((resolve) => child.on('message', (m) => m.kind === 'stopped' && resolve(m.cpuMs)));
  return { child, ready, stopped };
}

subjectMain(async ({ backend, url, count, warmupCount, rounds, processes, workers = 2 }) => {
  await durableClientClass(backend);
  const tag = `bench_scale_${process.pid}`;
  let index = 0;
  const server = serverMeter(url);
  return measureRounds({
    rounds,
    size: count,
    warmupSize: warmupCount ?? count,
    round: async (n) => {
      const queue = `${tag}_${index}`;
      const schema = backend === 'postgres' ? `${tag}_${index}` : undefined;
      index++;
      const client = await createDurableClient(backend, url, queue, { schema });
      const consumers = [];
      try {
        const enqueuePerSec = await enqueueInBatches(n, (batch) =>
          client.enqueueMany(batch.map(() => ({ name: 'noop', payload: null }))),
        );
        const tracker = completionTracker(n);
        const args = { backend, url, queue, schema, workers };
        for (let i = 0; i < processes; i++)
          consumers.push(startConsumer(args, (m) => m.kind === 'completed' && tracker.add(m.n)));
        await Promise.all(consumers.map((c) => c.ready));
        server.start();
        const t0 = performance.now();
        for (const c of consumers) c.child.send({ kind: 'start' });
        const t1 = await tracker.end(
          async () => (await client.counts()).completed,
          async () => (await client.counts()).failed,
        );
        const ms = t1 - t0;
        const serverCpuMsPerTask = server.perTask(n);
        for (const c of consumers) c.child.send({ kind: 'stop' });
        const cpuMs = await Promise.all(consumers.map((c) => c.stopped));
        const appCpuMs = cpuMs.reduce((a, b) => a + b, 0);
        return {
          perSec: (n * 1000) / ms,
          ms,
          count: n,
          processes,
          enqueuePerSec,
          appCpuMsPerTask: appCpuMs / n,
          serverCpuMsPerTask,
          // Busy cores over the drain (consumers + database server) out of availableParallelism().
          coresBusy: (appCpuMs + (serverCpuMsPerTask ?? 0) * n) / ms,
          cores: availableParallelism(),
        };
      } finally {
        for (const c of consumers) if (c.child.exitCode === null) c.child.kill();
        await client.close?.();
        await client.quit?.();
        if (schema) await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
    },
  });
});
