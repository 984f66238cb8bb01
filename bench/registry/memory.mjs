/**
 * Extra memory per worker thread: (RSS with 4 threads - RSS with 1) / 3,
 * each from a fresh process (bench/lib/memory.mjs), so whatever the main
 * thread holds cancels out. Python workers are processes sharing their
 * parent's pages copy-on-write, so PSS, not RSS, is their fair figure.
 */
import { atMost, below, memory } from './define.mjs';

export default {
  name: 'memory',
  title: 'memory: extra RSS per worker thread, Nest context included',
  subjects: {
    'ours.memory': {
      label: 'ours: extra RSS per worker thread (1 vs 4 threads)',
      program: 'ours/memory.mjs',
      ours: true,
      metric: memory('perThreadRss'),
      args: {},
    },
    'piscina.memory': {
      label: 'raw piscina: extra RSS per thread (1 vs 4 threads)',
      program: 'peers/piscina.mjs',
      metric: memory('perThreadRss'),
      args: { mode: 'memory' },
    },
    // Tells what a Nest context costs per thread from what our layer adds.
    'piscina-nest.memory': {
      label: 'raw piscina + a Nest context per thread (diagnostic)',
      program: 'peers/piscina.mjs',
      metric: memory('perThreadRss'),
      args: { mode: 'memory', nest: true },
    },
    'python.memory': {
      label: 'python Pool(2): PSS per worker process',
      program: 'peers/python.mjs',
      metric: memory('workerPss'),
      args: { script: 'pool_bench.py', mode: 'memory' },
    },
  },
  rows: [
    {
      label: 'RSS per extra thread',
      ours: 'ours.memory',
      peer: 'piscina.memory',
      peerLabel: 'raw piscina thread',
      target: atMost(1.5),
    },
    {
      label: 'RSS per extra thread',
      ours: 'ours.memory',
      peer: 'python.memory',
      peerLabel: 'python Pool worker PSS',
      target: below(1),
    },
    {
      label: '(diagnostic) RSS per extra thread',
      ours: 'ours.memory',
      peer: 'piscina-nest.memory',
      peerLabel: 'raw piscina + Nest context',
    },
  ],
};
