/**
 * What the permit gate costs (concurrency keys, lib/loop/permit.gate.ts):
 * the in-memory loop draining no-op tasks spread over concurrency keys, with
 * `@Task({ concurrencyPerKey })` against the same tasks without it. With
 * room to spare per key, the difference is the asking (one acquirePermits()
 * per fetched batch); with one task per key at a time, it is the waiting
 * (denied deliveries given back with a delay and fetched again).
 */
import { throughput } from './define.mjs';

const keyed = (task, keys, tasksModule) => (ctx) => ({
  task,
  keys,
  tasksModule,
  count: ctx.size(50_000, 5_000),
  warmupCount: ctx.size(10_000, 1_000),
});

export default {
  name: 'permits',
  title: 'concurrency keys: the in-memory loop with the permit gate against without it',
  subjects: {
    'ours.loop.keys-off': {
      label: 'ours: loop, no-op over 100 concurrency keys, no limit',
      program: 'ours/loop.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      args: keyed('noop', 100, 'BenchTasksModule'),
    },
    'ours.loop.keys-on': {
      label: 'ours: loop, no-op over 100 keys, concurrencyPerKey 1000',
      program: 'ours/loop.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      interleave: 'ours.loop.keys-off',
      args: keyed('noop.keyed', 100, 'KeyedBenchTasksModule'),
    },
    'ours.loop.keys-tight': {
      label: 'ours: loop, no-op over 4 keys, concurrencyPerKey 1',
      program: 'ours/loop.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      args: (ctx) => ({
        task: 'noop.keyed.tight',
        keys: 4,
        tasksModule: 'KeyedBenchTasksModule',
        count: ctx.size(2_000, 400),
        warmupCount: ctx.size(400, 100),
      }),
    },
  },
  rows: [
    {
      label: 'loop no-op, concurrencyPerKey with room (permits asked, never denied)',
      ours: 'ours.loop.keys-on',
      peer: 'ours.loop.keys-off',
      peerLabel: 'same tasks, no concurrencyPerKey',
    },
    {
      label: 'loop no-op, concurrencyPerKey 1 over 4 keys (denied deliveries wait and come back)',
      ours: 'ours.loop.keys-tight',
      peer: 'ours.loop.keys-off',
      peerLabel: 'same tasks, no concurrencyPerKey',
    },
  ],
};
