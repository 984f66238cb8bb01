/**
 * Ours over a durable client: drain `count` queued no-op tasks from
 * PostgreSQL (PostgresTaskClient) or Redis (RedisTaskClient). Per round a
 * fresh queue is filled (timed separately, as "enqueue/s"), then the app is
 * booted with the loop stopped and the drain is timed from `start()` until
 * the last completion has been written (see completionTracker).
 *
 * PostgreSQL: every round migrates a schema of its own, so the queue is in a
 * table the planner has no statistics for yet, as a freshly deployed or
 * freshly filled queue is (pg-boss gets a new partition per queue, the same
 * thing); the schema is dropped after the round.
 */
import { bootApp } from '../lib/app.mjs';
import { adminQuery, createDurableClient, durableClientClass } from '../lib/clients.mjs';
import { completionTracker, enqueueInBatches, serverMeter } from '../lib/durable.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';

subjectMain(async ({ backend, url, count, warmupCount, rounds, workers = 2, loop = {}, analyze = false }) => {
  // Before any round: a missing entry point skips the subject at once.
  await durableClientClass(backend);
  const tag = `bench_${process.pid}`;
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
      const enqueuePerSec = await enqueueInBatches(n, (batch) =>
        client.enqueueMany(batch.map(() => ({ name: 'noop', payload: null }))),
      );
      const tracker = completionTracker(n);
      const publish = client.publish.bind(client);
      client.publish = async (outcomes) => {
        await publish(outcomes);
        let completed = 0;
        for (const o of outcomes) if (o.status === 'completed') completed++;
        tracker.add(completed);
      };
      if (analyze && schema) await adminQuery(url, `ANALYZE ${schema}.tasks`);
      const { app, wm } = await bootApp({ workers, client: { useValue: client }, loop: { ...loop, autoStart: false } });
      try {
        const before = await client.counts();
        if (before.queued !== n)
          throw new Error(`expected ${n} queued tasks, the client counts ${JSON.stringify(before)}`);
        server.start();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        wm.start();
        const t1 = await tracker.end(
          async () => (await client.counts()).completed,
          async () => (await client.counts()).failed,
        );
        const cpu = process.cpuUsage(cpu0);
        const ms = t1 - t0;
        return {
          perSec: (n * 1000) / ms,
          ms,
          count: n,
          enqueuePerSec,
          cpuMsPerTask: (cpu.user + cpu.system) / 1000 / n,
          serverCpuMsPerTask: server.perTask(n),
        };
      } finally {
        await app.close();
        await client.close?.();
        await client.quit?.();
        if (schema) await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
    },
  });
});
