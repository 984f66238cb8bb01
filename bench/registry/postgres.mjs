/**
 * Draining a queue already filled in PostgreSQL, ours against pg-boss on the
 * same server. Timing and completion are measured alike for both (see
 * bench/lib/durable.mjs); each round uses a fresh queue.
 */
import { atLeast, throughput } from './define.mjs';

const drainSizes = (ctx) => ({
  url: ctx.servers.postgres,
  count: ctx.size(100_000, 5_000),
  warmupCount: ctx.size(10_000, 1_000),
});
// pg-boss's fastest settings in the sweep in BENCHMARKS.md.
const pgBossSettings = { batchSize: 10000, loops: 2 };

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
  },
  rows: [
    { label: 'PostgreSQL drain', ours: 'ours.pg', peer: 'pgboss', peerLabel: 'pg-boss 10', target: atLeast(1) },
    {
      label: 'PostgreSQL drain, ANALYZE after enqueue',
      ours: 'ours.pg.analyzed',
      peer: 'pgboss.analyzed',
      peerLabel: 'pg-boss 10, same',
    },
  ],
};
