/**
 * Extra memory per worker thread: (RSS with 4 threads - RSS with 1) / 3,
 * each from a fresh process (bench/lib/memory.mjs), so whatever the main
 * thread holds cancels out. Python workers are processes sharing their
 * parent's pages copy-on-write, so PSS, not RSS, is their fair figure.
 *
 * The breakdown climbs from a bare piscina thread to ours one layer at a
 * time, the same method each time: + @nestjs/core and its dependencies
 * loaded, + a booted Nest context with the bench's providers, then ours
 * (our thread runtime booting that same context).
 */
import { atMost, memory } from './define.mjs';
import { formatFigure } from '../harness/format.mjs';

const piscina = (label, thread) => ({
  label,
  program: 'peers/piscina.mjs',
  metric: memory('perThreadRss'),
  args: { mode: 'memory', thread },
});

const LAYERS = [
  ['piscina.memory', 'Node worker thread with piscina (raw piscina peer)'],
  ['piscina-nestcore.memory', '+ @nestjs/core and its dependencies loaded'],
  ['piscina-nest.memory', '+ a booted Nest context (the bench tasks module: 2 providers)'],
  ['ours.memory', 'ours: our thread runtime booting the same context'],
];

const mb = (bytes) => formatFigure(bytes, 'bytes');

function breakdown({ median, result }) {
  let previous;
  const cells = LAYERS.map(([id, label]) => {
    const rss = median(id, 'perThreadRss');
    const heap = result(id)?.rounds?.at(-1)?.threadHeap;
    const step = rss !== undefined && previous !== undefined ? rss - previous : undefined;
    previous = rss ?? previous;
    return [
      label,
      mb(rss),
      step === undefined ? '' : `${step >= 0 ? '+' : '-'}${mb(Math.abs(step))}`,
      heap ? `${mb(heap.committed)} / ${mb(heap.newSpaceCommitted)} / ${mb(heap.oldSpaceUsed)}` : '-',
    ];
  });
  return {
    headers: ['thread', 'RSS per extra thread', 'step', "one thread's V8 heap: committed / new space / old space used"],
    cells,
  };
}

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
    'piscina.memory': piscina('raw piscina: extra RSS per thread (1 vs 4 threads)', 'bare'),
    'piscina-nestcore.memory': piscina('raw piscina threads that load @nestjs/core (diagnostic)', 'nest-core'),
    'piscina-nest.memory': piscina('raw piscina + a Nest context per thread (diagnostic)', 'nest-context'),
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
      label: '(breakdown) RSS per extra thread',
      ours: 'ours.memory',
      peer: 'piscina-nest.memory',
      peerLabel: 'raw piscina + the same Nest context',
    },
    {
      label: '(breakdown) RSS per extra thread',
      ours: 'piscina-nestcore.memory',
      peer: 'piscina.memory',
      peerLabel: 'raw piscina + @nestjs/core vs bare',
    },
    // Forked processes share their parent's pages copy-on-write; threads of one process cannot.
    {
      label: 'RSS per extra thread',
      ours: 'ours.memory',
      peer: 'python.memory',
      peerLabel: 'python Pool worker PSS',
    },
  ],
  details: [{ title: 'memory per extra thread, layer by layer', table: breakdown }],
};
