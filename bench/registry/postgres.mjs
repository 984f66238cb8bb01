/**
 * Draining a queue already filled in PostgreSQL, ours against pg-boss and
 * graphile-worker on the same server. Timing and completion are measured
 * alike for all (see bench/lib/durable.mjs); each round uses a fresh queue in
 * a fresh table (ours and graphile-worker: a schema per round; pg-boss: its
 * partition per queue), so the planner has no statistics for it yet, as for
 * a queue just filled in production. The ANALYZE rows are the context.
 */
import { atLeast, figure, throughput } from './define.mjs';

const drainSizes = (ctx) => ({
  url: ctx.servers.postgres,
  count: ctx.size(100_000, 5_000),
  warmupCount: ctx.size(10_000, 1_000),
});
// The peers' fastest settings in the sweeps in BENCHMARKS.md.
const pgBossSettings = { batchSize: 10000, loops: 2 };
const graphileSettings = { concurrency: 24, localQueue: 500 };

const subject = (program, label, extra, ours = false) => ({
  label,
  program,
  ours,
  server: 'postgres',
  metric: throughput('jobs/s'),
  args: (ctx) => ({ ...drainSizes(ctx), ...extra }),
});

/** Job control at the client (bench/ours/pg.job-control.mjs): enqueue, then a hand drain of fetch / acquirePermits / publish. */
const jobControl = (label, extra) => ({
  label,
  program: 'ours/pg.job-control.mjs',
  ours: true,
  server: 'postgres',
  metric: throughput('jobs/s'),
  args: (ctx) => ({
    url: ctx.servers.postgres,
    count: ctx.size(50_000, 5_000),
    warmupCount: ctx.size(5_000, 1_000),
    ...extra,
  }),
});

export default {
  name: 'postgres',
  title: 'PostgreSQL: drain 100k queued no-op tasks',
  subjects: {
    'ours.pg': subject('ours/durable.mjs', 'ours: PostgresTaskClient drain', { backend: 'postgres' }, true),
    pgboss: subject('peers/pgboss.mjs', 'pg-boss 10 drain (+ raw piscina, 2 threads)', pgBossSettings),
    // Context: fresh planner statistics (ANALYZE after the enqueue, untimed) for both sides.
    'ours.pg.analyzed': subject(
      'ours/durable.mjs',
      'ours: PostgresTaskClient drain, table ANALYZEd after the enqueue',
      { backend: 'postgres', analyze: true },
      true,
    ),
    'pgboss.analyzed': subject('peers/pgboss.mjs', 'pg-boss 10 drain, table ANALYZEd after the enqueue', {
      ...pgBossSettings,
      analyze: true,
    }),
    'ours.pg.jc.plain': jobControl('ours: PostgresTaskClient enqueue + hand drain, no job control', {}),
    'ours.pg.jc.unique': jobControl('ours: same, a uniqueKey per task', { uniqueKeys: true }),
    'ours.pg.jc.permits': jobControl(
      'ours: same, acquirePermits per batch (concurrencyPerKey, 100 keys, never denied)',
      {
        permits: 'concurrency',
      },
    ),
    'ours.pg.jc.rate': jobControl('ours: same, acquirePermits per batch (rateLimit, never denied)', {
      permits: 'rate',
    }),
    graphile: subject(
      'peers/graphile.mjs',
      'graphile-worker 0.17 drain, local queue + batched completion (+ raw piscina, 2 threads)',
      graphileSettings,
    ),
  },
  rows: [
    // Job control (issue 14): what each feature costs against the same work without it. Context, no target.
    {
      label: 'PostgreSQL enqueue + drain, unique keys on vs off',
      ours: 'ours.pg.jc.unique',
      peer: 'ours.pg.jc.plain',
      peerLabel: 'no unique keys',
      metric: figure('totalPerSec', 'jobs/s'),
    },
    {
      label: 'PostgreSQL enqueue, unique keys on vs off',
      ours: 'ours.pg.jc.unique',
      peer: 'ours.pg.jc.plain',
      peerLabel: 'no unique keys',
      metric: figure('enqueuePerSec', 'jobs/s'),
    },
    {
      label: 'PostgreSQL drain, permit gate (concurrency keys) vs none',
      ours: 'ours.pg.jc.permits',
      peer: 'ours.pg.jc.plain',
      peerLabel: 'no permits asked',
    },
    {
      label: 'PostgreSQL drain, permit gate (rate limit) vs none',
      ours: 'ours.pg.jc.rate',
      peer: 'ours.pg.jc.plain',
      peerLabel: 'no permits asked',
    },
    { label: 'PostgreSQL drain', ours: 'ours.pg', peer: 'pgboss', peerLabel: 'pg-boss 10', target: atLeast(1.5) },
    // graphile-worker deletes a job when it completes; ours and pg-boss keep the row.
    { label: 'PostgreSQL drain', ours: 'ours.pg', peer: 'graphile', peerLabel: 'graphile-worker 0.17' },
    {
      label: 'PostgreSQL drain, ANALYZE after enqueue',
      ours: 'ours.pg.analyzed',
      peer: 'pgboss.analyzed',
      peerLabel: 'pg-boss 10, same',
    },
  ],
};
