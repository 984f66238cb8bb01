/** Draining a queue already filled in Redis, ours against BullMQ on the same server (see bench/lib/durable.mjs). */
import { atLeast, figure, throughput } from './define.mjs';

const drainSizes = (ctx) => ({
  url: ctx.servers.redis,
  count: ctx.size(100_000, 5_000),
  warmupCount: ctx.size(10_000, 1_000),
});

/** Job control at the client (bench/ours/redis.job-control.mjs): enqueue, then a hand drain of fetch / acquirePermits / publish. */
const jobControl = (label, extra) => ({
  label,
  program: 'ours/redis.job-control.mjs',
  ours: true,
  server: 'redis',
  metric: throughput('jobs/s'),
  args: (ctx) => ({
    url: ctx.servers.redis,
    count: ctx.size(50_000, 5_000),
    warmupCount: ctx.size(5_000, 1_000),
    ...extra,
  }),
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
    // Each feature's subject runs its rounds in turn with a baseline of its own (harness/interleave.mjs):
    // on a shared machine the two figures of each ratio then come from the same minutes.
    'ours.redis.jc.plain': jobControl('ours: RedisTaskClient enqueue + hand drain, no job control', {}),
    'ours.redis.jc.unique': {
      ...jobControl('ours: same, a uniqueKey per task', { uniqueKeys: true }),
      interleave: 'ours.redis.jc.plain',
    },
    'ours.redis.jc.plain.p': jobControl('ours: no job control (baseline of the concurrency gate)', {}),
    'ours.redis.jc.permits': {
      ...jobControl('ours: same, acquirePermits per batch (concurrencyPerKey, 100 keys, never denied)', {
        permits: 'concurrency',
      }),
      interleave: 'ours.redis.jc.plain.p',
    },
    'ours.redis.jc.plain.r': jobControl('ours: no job control (baseline of the rate gate)', {}),
    'ours.redis.jc.rate': {
      ...jobControl('ours: same, acquirePermits per batch (rateLimit, never denied)', { permits: 'rate' }),
      interleave: 'ours.redis.jc.plain.r',
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
  rows: [
    // Job control (issue 14): what each feature costs against the same work without it. Context, no target.
    {
      label: 'Redis enqueue + drain, unique keys on vs off',
      ours: 'ours.redis.jc.unique',
      peer: 'ours.redis.jc.plain',
      peerLabel: 'no unique keys',
      metric: figure('totalPerSec', 'jobs/s'),
    },
    {
      label: 'Redis enqueue, unique keys on vs off',
      ours: 'ours.redis.jc.unique',
      peer: 'ours.redis.jc.plain',
      peerLabel: 'no unique keys',
      metric: figure('enqueuePerSec', 'jobs/s'),
    },
    {
      label: 'Redis drain, permit gate (concurrency keys) vs none',
      ours: 'ours.redis.jc.permits',
      peer: 'ours.redis.jc.plain.p',
      peerLabel: 'no permits asked',
    },
    {
      label: 'Redis drain, permit gate (rate limit) vs none',
      ours: 'ours.redis.jc.rate',
      peer: 'ours.redis.jc.plain.r',
      peerLabel: 'no permits asked',
    },
    { label: 'Redis drain', ours: 'ours.redis', peer: 'bullmq', peerLabel: 'BullMQ', target: atLeast(2) },
  ],
};
