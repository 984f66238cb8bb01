/**
 * CPU-bound tasks with 2 workers and with 1: the speed-up says whether our
 * layer lets two threads do twice the work. Raw piscina's speed-up is the
 * context that tells the machine's limit from ours.
 */
import { atLeast, throughput } from './define.mjs';
import { iterations } from './shared.mjs';

const burn = (program, label, workers, ours = false) => ({
  label,
  program,
  ours,
  after: ['calibrate'],
  metric: throughput('tasks/s'),
  args: (ctx) => ({
    task: 'burn',
    payload: iterations(ctx, 5),
    workers,
    count: ctx.size(400, 100),
    warmupCount: ctx.size(100, 20),
  }),
});

export default {
  name: 'cpu',
  title: 'CPU-bound tasks (~5 ms of pure JS each), 2 workers vs 1',
  subjects: {
    'ours.cpu.2': burn('ours/run.mjs', 'ours: run() ~5 ms CPU tasks, 2 workers', 2, true),
    'ours.cpu.1': burn('ours/run.mjs', 'ours: run() ~5 ms CPU tasks, 1 worker', 1, true),
    'piscina.cpu.2': burn('peers/piscina.mjs', 'raw piscina: ~5 ms CPU tasks, 2 threads', 2),
    'piscina.cpu.1': burn('peers/piscina.mjs', 'raw piscina: ~5 ms CPU tasks, 1 thread', 1),
  },
  rows: [
    {
      label: '~5 ms CPU tasks: speed-up 2 vs 1 worker',
      ours: 'ours.cpu.2',
      peer: 'ours.cpu.1',
      peerLabel: 'ours with 1 worker',
      target: atLeast(1.8),
    },
    {
      label: '(context) raw piscina speed-up 2 vs 1',
      ours: 'piscina.cpu.2',
      peer: 'piscina.cpu.1',
      peerLabel: 'raw piscina, 1 thread',
    },
  ],
};
