/**
 * What cancel/progress/unique-key support costs when used, each against the
 * same workload without it, measured round by round in turn:
 * - a run() burst of a no-op that calls ctx.progress() ten times (throttled
 *   in the thread: one message, the last value in the reply) against a plain
 *   no-op;
 * - the in-memory loop draining no-op tasks enqueued with a uniqueKey each
 *   (checked and claimed at enqueue, freed when the task finishes) against
 *   the same tasks without keys.
 */
import { throughput } from './define.mjs';

const runCounts = (task) => (ctx) => ({
  task,
  count: ctx.size(100_000, 10_000),
  warmupCount: ctx.size(20_000, 2_000),
});
const drain = (uniqueKeys) => (ctx) => ({
  task: 'noop',
  uniqueKeys,
  count: ctx.size(100_000, 10_000),
  warmupCount: ctx.size(20_000, 2_000),
});

export default {
  name: 'job-control',
  title: 'job control: ctx.progress() in run(), unique keys in the in-memory loop',
  subjects: {
    'ours.run.progress-off': {
      label: 'ours: run() no-op, burst',
      program: 'ours/run.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      args: runCounts('noop'),
    },
    'ours.run.progress-on': {
      label: 'ours: run() no-op calling ctx.progress() 10x, burst',
      program: 'ours/run.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      interleave: 'ours.run.progress-off',
      args: runCounts('noop.progress'),
    },
    'ours.loop.unique-off': {
      label: 'ours: loop over in-memory client, no-op, no keys',
      program: 'ours/loop.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      args: drain(false),
    },
    'ours.loop.unique-on': {
      label: 'ours: loop over in-memory client, no-op, a uniqueKey each',
      program: 'ours/loop.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      interleave: 'ours.loop.unique-off',
      args: drain(true),
    },
  },
  rows: [
    {
      label: 'run() no-op reporting progress (10 ctx.progress() per task)',
      ours: 'ours.run.progress-on',
      peer: 'ours.run.progress-off',
      peerLabel: 'same burst, no progress',
    },
    {
      label: 'in-memory loop drain, a uniqueKey per task',
      ours: 'ours.loop.unique-on',
      peer: 'ours.loop.unique-off',
      peerLabel: 'same tasks, no keys',
    },
  ],
};
