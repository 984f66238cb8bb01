/** `map()` over many tiny items against Python's `multiprocessing.Pool`, whose chunking it resembles. */
import { atLeast, throughput } from './define.mjs';

const pool = (mode, label, extra, sizes) => ({
  label,
  program: 'peers/python.mjs',
  metric: throughput('items/s'),
  args: (ctx) => ({ script: 'pool_bench.py', mode, ...extra, ...sizes(ctx) }),
});
const million = (ctx) => ({ count: ctx.size(1_000_000, 100_000), warmupCount: ctx.size(100_000, 10_000) });
// Per-item dispatch is ~50x slower: a tenth of the items keeps the run short and the rate comparable.
const tenth = (ctx) => ({ count: ctx.size(100_000, 10_000), warmupCount: ctx.size(10_000, 1_000) });

export default {
  name: 'map',
  title: 'map() over 1M tiny items',
  subjects: {
    'ours.map': {
      label: 'ours: map(square) over 1M numbers',
      program: 'ours/map.mjs',
      ours: true,
      metric: throughput('items/s'),
      args: million,
    },
    'python.map.100': pool('map', 'python Pool.map(square, chunksize=100)', { chunksize: 100 }, million),
    'python.map.1': pool('map', 'python Pool.map(square, chunksize=1)', { chunksize: 1 }, tenth),
    'python.apply_async': pool('apply_async', 'python apply_async(square) per item', {}, tenth),
  },
  rows: [
    {
      label: 'map() 1M squares',
      ours: 'ours.map',
      peer: 'python.map.100',
      peerLabel: 'Pool.map chunksize=100',
      target: atLeast(1),
    },
    {
      label: 'map() 1M squares',
      ours: 'ours.map',
      peer: 'python.map.1',
      peerLabel: 'Pool.map chunksize=1 (100k items)',
    },
    {
      label: 'map() 1M squares',
      ours: 'ours.map',
      peer: 'python.apply_async',
      peerLabel: 'apply_async per item (100k items)',
    },
  ],
};
