/**
 * Extra memory per worker thread: (RSS with 4 threads - RSS with 1) / 3,
 * each from a fresh process (bench/lib/memory.mjs), so whatever the main
 * thread holds cancels out. Python workers are processes sharing their
 * parent's pages copy-on-write, so PSS, not RSS, is their fair figure.
 *
 * The breakdown climbs from a bare piscina thread to ours one layer at a
 * time, the same method each time: + @nestjs/core and its dependencies
 * loaded, + a booted Nest context with the bench's providers, then ours
 * (our thread runtime booting that same context); each layer as booted and
 * after the memory-reducing collection our threads run once booted
 * (lib/thread/boot-heap.trim.ts, bench/fixtures/heap.trim.ts), which tells
 * the floor of each layer from what boot left behind.
 */
import { atMost, memory } from './define.mjs';
import { formatFigure } from '../harness/format.mjs';

const piscina = (label, thread, trimHeap = false) => ({
  label,
  program: 'peers/piscina.mjs',
  metric: memory('perThreadRss'),
  args: { mode: 'memory', thread, ...(trimHeap ? { trimHeap } : {}) },
});

/** [label, subject as booted, subject after the same memory-reducing GC our threads run after boot] */
const LAYERS = [
  ['Node worker thread with piscina (raw piscina peer)', 'piscina.memory', 'piscina.memory.trimmed'],
  ['+ @nestjs/core and its dependencies loaded', 'piscina-nestcore.memory', 'piscina-nestcore.memory.trimmed'],
  [
    '+ a booted Nest context (the bench tasks module: 2 providers)',
    'piscina-nest.memory',
    'piscina-nest.memory.trimmed',
  ],
  ['ours: our thread runtime booting the same context (it trims after boot)', undefined, 'ours.memory'],
];

const mb = (bytes) => formatFigure(bytes, 'bytes');
const signed = (bytes) => (bytes === undefined ? '' : `${bytes >= 0 ? '+' : '-'}${mb(Math.abs(bytes))}`);

function breakdown({ median, result }) {
  const previous = [undefined, undefined];
  const cells = LAYERS.map(([label, booted, trimmed]) => {
    const rss = [booted, trimmed].map((id) => (id ? median(id, 'perThreadRss') : undefined));
    const steps = rss.map((value, i) =>
      value !== undefined && previous[i] !== undefined ? value - previous[i] : undefined,
    );
    rss.forEach((value, i) => (previous[i] = value ?? previous[i]));
    const heap = result(trimmed)?.rounds?.at(-1)?.threadHeap;
    return [
      label,
      mb(rss[0]),
      signed(steps[0]),
      mb(rss[1]),
      signed(steps[1]),
      heap ? `${mb(heap.committed)} / ${mb(heap.newSpaceCommitted)} / ${mb(heap.oldSpaceUsed)}` : '-',
    ];
  });
  return {
    headers: [
      'thread',
      'RSS per extra thread, as booted',
      'step',
      'after a memory-reducing GC',
      'step',
      "then one thread's V8 heap: committed / new space / old space used",
    ],
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
    'piscina.memory.trimmed': piscina('raw piscina, heap trimmed after load (diagnostic)', 'bare', true),
    'piscina-nestcore.memory.trimmed': piscina(
      'raw piscina + @nestjs/core, heap trimmed after load (diagnostic)',
      'nest-core',
      true,
    ),
    'piscina-nest.memory.trimmed': piscina(
      'raw piscina + a Nest context, heap trimmed after boot (diagnostic)',
      'nest-context',
      true,
    ),
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
      ours: 'ours.memory',
      peer: 'piscina-nest.memory.trimmed',
      peerLabel: 'raw piscina + the same Nest context, trimmed',
    },
    {
      label: '(breakdown) RSS per extra thread, trimmed',
      ours: 'piscina-nestcore.memory.trimmed',
      peer: 'piscina.memory.trimmed',
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
  details: [
    {
      title: 'memory per extra thread, layer by layer',
      needs: LAYERS.flatMap(([, booted, trimmed]) => [booted, trimmed]).filter(Boolean),
      table: breakdown,
    },
  ],
};
