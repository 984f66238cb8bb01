/** Draining a queue already filled in Redis, ours against BullMQ on the same server (see bench/lib/durable.mjs). */
import { atLeast, throughput } from './define.mjs';

const drainSizes = (ctx) => ({
  url: ctx.servers.redis,
  count: ctx.size(100_000, 5_000),
  warmupCount: ctx.size(10_000, 1_000),
});

export default {
  name: 'redis',
  title: 'Redis: drain 100k queued no-op tasks',
  subjects: {
    'ours.redis': {
      label: 'ours: RedisTaskClient drain',
      program: 'ours/durable.mjs',
      ours: true,
      server: 'redis',
      metric: throughput('jobs/s'),
      args: (ctx) => ({ backend: 'redis', ...drainSizes(ctx) }),
    },
    bullmq: {
      label: 'BullMQ drain (+ raw piscina, 2 threads)',
      program: 'peers/bullmq.mjs',
      server: 'redis',
      metric: throughput('jobs/s'),
      // BullMQ's fastest concurrency in the sweep in BENCHMARKS.md.
      args: (ctx) => ({ ...drainSizes(ctx), concurrency: 1000 }),
    },
  },
  rows: [{ label: 'Redis drain', ours: 'ours.redis', peer: 'bullmq', peerLabel: 'BullMQ', target: atLeast(2) }],
};
