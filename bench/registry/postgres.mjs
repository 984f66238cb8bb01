/**
 * Draining a queue already filled in PostgreSQL, ours against pg-boss and
 * graphile-worker on the same server. Timing and completion are measured
 * alike for all (see bench/lib/durable.mjs); each round uses a fresh queue in
 * a fresh table (ours and graphile-worker: a schema per round; pg-boss: its
 * partition per queue), so the planner has no statistics for it yet, as for
 * a queue just filled in production. The ANALYZE rows are the context.
 */
import { atLeast, throughput } from './define.mjs';

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
    graphile: subject(
      'peers/graphile.mjs',
      'graphile-worker 0.17 drain, local queue + batched completion (+ raw piscina, 2 threads)',
      graphileSettings,
    ),
  },
  rows: [
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
