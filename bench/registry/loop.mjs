/**
 * The worker loop over the in-memory TaskClient, every outcome published,
 * against raw piscina's per-call figure (the `run` workload's peer): what
 * batching fetches and dispatches buys over one message per task.
 */
import { atLeast, throughput } from './define.mjs';

export default {
  name: 'loop',
  title: 'no-op tasks through the TaskClient loop (in-memory, every outcome published)',
  subjects: {
    'ours.loop': {
      label: 'ours: loop over in-memory client, no-op',
      program: 'ours/loop.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      args: (ctx) => ({ task: 'noop', count: ctx.size(100_000, 10_000), warmupCount: ctx.size(20_000, 2_000) }),
    },
  },
  rows: [
    {
      label: 'loop no-op (in-memory client)',
      ours: 'ours.loop',
      peer: 'piscina.run',
      peerLabel: 'raw piscina run() per task',
      target: atLeast(3),
    },
  ],
};
