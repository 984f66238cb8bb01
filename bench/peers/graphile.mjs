/**
 * Peer: graphile-worker 0.17 on the same PostgreSQL server, draining `count`
 * queued no-op jobs. Like pg-boss and BullMQ it runs handlers in the main
 * thread, so each job is handed to a raw piscina pool of the same 2 threads.
 * It gets its batched mode, the settings of its own performance page: a
 * local queue (jobs fetched `localQueue` at a time) and batched completion
 * (`completeJobBatchDelay: 0`), with `concurrency` jobs in flight — the
 * fastest values of the sweep in BENCHMARKS.md.
 *
 * graphile-worker 0.18 needs Node 22; 0.17.3 declares Node >= 14 and runs on
 * 20. It is a devDependency of bench/package.json only: `npm install
 * --prefix bench` once; without it this subject is skipped.
 *
 * Each round migrates a fresh schema (a table the planner has no statistics
 * for, as ours gets). graphile-worker deletes a job when it completes, so
 * "completed in the database" is "no row left".
 */
import { createRequire } from 'node:module';
import { completionTracker, enqueueInBatches, serverMeter } from '../lib/durable.mjs';
import { measureRounds, Skip, subjectMain } from '../lib/subject.mjs';
import { createPool, warmThreads } from './piscina.mjs';

const require = createRequire(import.meta.url);

function load() {
  try {
    return {
      graphile: require('graphile-worker'),
      completeJobs: require('graphile-worker/dist/sql/completeJobs.js'),
    };
  } catch (error) {
    throw new Skip(`graphile-worker is not installed (npm install --prefix bench): ${error.message.split('\n')[0]}`);
  }
}

subjectMain(async ({ url, count, warmupCount, rounds, workers = 2, concurrency = 24, localQueue = 500 }) => {
  const { graphile, completeJobs } = load();
  // The batch completion statement is wrapped so that each completion write is
  // counted when it has returned (graphile-worker does not await it per job).
  let onCompleted = () => undefined;
  const batchCompleteJobs = completeJobs.batchCompleteJobs;
  completeJobs.batchCompleteJobs = async (...args) => {
    const result = await batchCompleteJobs(...args);
    onCompleted(args[3].length);
    return result;
  };
  const pool = createPool(workers);
  await warmThreads(pool, workers);
  const silent = () => () => undefined;
  const logger = new graphile.Logger(silent);
  let index = 0;
  const server = serverMeter(url);
  try {
    return await measureRounds({
      rounds,
      size: count,
      warmupSize: warmupCount ?? count,
      round: async (n) => {
        const schema = `bench_gw_${process.pid}_${index++}`;
        const preset = {
          worker: {
            connectionString: url,
            schema,
            concurrentJobs: concurrency,
            maxPoolSize: Math.min(concurrency + 1, 25),
            pollInterval: 500,
            // localQueue 0: graphile-worker's defaults (one job per fetch, one completion per statement).
            ...(localQueue > 0
              ? { localQueue: { size: localQueue }, completeJobBatchDelay: 0, failJobBatchDelay: 0 }
              : {}),
          },
        };
        const utils = await graphile.makeWorkerUtils({ preset, logger });
        try {
          await utils.migrate();
          const enqueuePerSec = await enqueueInBatches(n, (batch) =>
            utils.addJobs(batch.map(() => ({ identifier: 'noop', payload: {} }))),
          );
          const remaining = async () =>
            Number(
              (
                await utils.withPgClient((client) =>
                  client.query(`SELECT count(*)::int AS n FROM ${schema}._private_jobs`),
                )
              ).rows[0].n,
            );
          const failed = async () =>
            Number(
              (
                await utils.withPgClient((client) =>
                  client.query(`SELECT count(*)::int AS n FROM ${schema}._private_jobs WHERE attempts >= max_attempts`),
                )
              ).rows[0].n,
            );
          const tracker = completionTracker(n);
          onCompleted = (jobs) => tracker.add(jobs);
          server.start();
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          const runner = await graphile.run({
            preset,
            logger,
            noHandleSignals: true,
            taskList: { noop: (payload) => pool.run(payload, { name: 'noop' }) },
          });
          const t1 = await tracker.end(async () => n - (await remaining()), failed);
          const cpu = process.cpuUsage(cpu0);
          await runner.stop();
          await utils.withPgClient((client) => client.query(`DROP SCHEMA ${schema} CASCADE`));
          const ms = t1 - t0;
          return {
            perSec: (n * 1000) / ms,
            ms,
            count: n,
            enqueuePerSec,
            cpuMsPerTask: (cpu.user + cpu.system) / 1000 / n,
            serverCpuMsPerTask: server.perTask(n),
            concurrency,
            localQueue,
          };
        } finally {
          await utils.release();
        }
      },
    });
  } finally {
    await pool.destroy();
  }
});
