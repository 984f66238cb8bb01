/** `WorkerManager.run()` of no-op tasks against raw piscina's `pool.run()`: the cost of our layer per call. */
import { atLeast, throughput } from './define.mjs';

const noopCounts = (ctx) => ({
  task: 'noop',
  count: ctx.size(100_000, 10_000),
  warmupCount: ctx.size(20_000, 2_000),
});

export default {
  name: 'run',
  title: 'no-op tasks through WorkerManager.run()',
  subjects: {
    'ours.run': {
      label: 'ours: run() no-op, burst',
      program: 'ours/run.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      args: noopCounts,
    },
    'piscina.run': {
      label: 'raw piscina: run() no-op, burst',
      program: 'peers/piscina.mjs',
      metric: throughput('tasks/s'),
      args: noopCounts,
    },
    // A producer that respects backpressure: at most our default queue size in flight.
    'ours.run.window': {
      label: 'ours: run() no-op, <=1024 in flight',
      program: 'ours/run.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      args: (ctx) => ({ ...noopCounts(ctx), mode: 'window', window: 1024 }),
    },
    'piscina.run.window': {
      label: 'raw piscina: run() no-op, <=1024 in flight',
      program: 'peers/piscina.mjs',
      metric: throughput('tasks/s'),
      args: (ctx) => ({ ...noopCounts(ctx), mode: 'window', window: 1024 }),
    },
  },
  rows: [
    {
      label: 'run() no-op, burst of N',
      ours: 'ours.run',
      peer: 'piscina.run',
      peerLabel: 'raw piscina run()',
      target: atLeast(0.9),
    },
    {
      label: 'run() no-op, <=1024 in flight',
      ours: 'ours.run.window',
      peer: 'piscina.run.window',
      peerLabel: 'raw piscina run(), same window',
    },
  ],
};
