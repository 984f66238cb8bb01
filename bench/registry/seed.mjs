/**
 * The design the project started from (a blog post's Python WorkerManager:
 * a fetch loop, two bounded multiprocessing queues, worker processes),
 * ported in bench/python/seed_worker.py, against our loop on the same echo
 * tasks. See BENCHMARKS.md, "The seed port", for what each variant keeps.
 */
import { throughput } from './define.mjs';

const seedPort = (mode, label, sizes) => ({
  label,
  program: 'peers/python.mjs',
  metric: throughput('tasks/s'),
  args: (ctx) => ({ script: 'seed_worker.py', mode, ...sizes(ctx) }),
});
const drainSizes = (ctx) => ({ count: ctx.size(100_000, 10_000), warmupCount: ctx.size(10_000, 1_000) });

export default {
  name: 'seed',
  title: 'the seed blog post: WorkerManager + StubClient, echo tasks',
  subjects: {
    'ours.seed': {
      label: 'ours: loop over in-memory client, echo "task # i"',
      program: 'ours/loop.mjs',
      ours: true,
      metric: throughput('tasks/s'),
      args: (ctx) => ({ task: 'echo', payloads: 'seed', ...drainSizes(ctx) }),
    },
    'python.seed.drain': seedPort('drain', 'python seed port, drain (spinning get_nowait workers)', drainSizes),
    'python.seed.blocking': seedPort('drain-blocking', 'python seed port, drain, blocking get() workers', drainSizes),
    // As written it sleeps 50 ms per fetch: ~20 tasks/s whatever the machine, so a small count is enough.
    'python.seed.faithful': seedPort(
      'faithful',
      'python seed port as written (50 ms sleep per fetch), StubClient(100)',
      (ctx) => ({ count: ctx.size(100, 20), warmupCount: 10 }),
    ),
  },
  rows: [
    {
      label: 'seed echo, drain',
      ours: 'ours.seed',
      peer: 'python.seed.drain',
      peerLabel: 'python seed port (as written, no 50 ms sleep)',
    },
    {
      label: 'seed echo, drain',
      ours: 'ours.seed',
      peer: 'python.seed.blocking',
      peerLabel: 'python seed port, blocking get()',
    },
    {
      label: 'seed echo',
      ours: 'ours.seed',
      peer: 'python.seed.faithful',
      peerLabel: 'python seed port with its 50 ms sleeps',
    },
  ],
};
