/**
 * Latency under load: an open loop of ~1 ms tasks at half of raw piscina's
 * peak rate, measured first in the same run, so both sides get the same
 * arrival schedule whatever the machine does today. Latency counts from when
 * a call was due, not when it was issued (no coordinated omission; see
 * bench/lib/drivers.mjs).
 */
import { atMost, latency, throughput } from './define.mjs';
import { iterations } from './shared.mjs';

const PEAK = 'piscina.latency.peak';

const peakArgs = (ctx) => ({
  task: 'burn',
  payload: iterations(ctx, 1),
  count: ctx.size(3000, 1000),
  warmupCount: ctx.size(1000, 300),
});

function openLoopArgs(ctx) {
  const peak = ctx.median(PEAK, 'perSec');
  if (!peak) throw new Error('no peak rate measured');
  return {
    task: 'burn',
    payload: iterations(ctx, 1),
    mode: 'open-loop',
    rate: Math.round(peak * 0.5),
    durationMs: ctx.size(5000, 1000),
  };
}

const openLoop = (program, label, extra = {}, ours = false) => ({
  label,
  program,
  ours,
  after: ['calibrate', PEAK],
  metric: latency('p99'),
  args: (ctx) => ({ ...openLoopArgs(ctx), ...extra }),
});

const offered = (measurement) => `${measurement.result.rounds[0]?.rate}/s offered`;

export default {
  name: 'latency',
  title: 'latency at 50% of peak load, open loop (~1 ms tasks)',
  subjects: {
    [PEAK]: {
      label: 'raw piscina: peak rate of ~1 ms tasks (burst)',
      program: 'peers/piscina.mjs',
      after: ['calibrate'],
      metric: throughput('tasks/s'),
      args: peakArgs,
    },
    'ours.latency.peak': {
      label: 'ours: peak rate of ~1 ms tasks (burst)',
      program: 'ours/run.mjs',
      ours: true,
      after: ['calibrate'],
      metric: throughput('tasks/s'),
      args: peakArgs,
    },
    // Rounds in turn with raw piscina's: p99 is the figure a busy shared machine moves most.
    'ours.latency': {
      ...openLoop('ours/run.mjs', 'ours: open loop at 50% of peak, ~1 ms tasks', {}, true),
      interleave: 'piscina.latency',
    },
    'piscina.latency': openLoop('peers/piscina.mjs', 'raw piscina: open loop at 50% of peak, ~1 ms tasks'),
    'ours.latency.nobatch': openLoop(
      'ours/run.mjs',
      'ours, batching disabled: open loop at 50% of peak',
      { batching: { enabled: false } },
      true,
    ),
    // Our pool runs piscina with atomics 'async' (idle threads keep their event loop): the same wake-up path.
    'piscina.latency.async': openLoop('peers/piscina.mjs', "raw piscina, atomics: 'async' (as our pool): open loop", {
      atomics: 'async',
    }),
  },
  rows: [
    {
      label: 'p99 latency',
      ours: 'ours.latency',
      peer: 'piscina.latency',
      peerLabel: 'raw piscina p99',
      target: atMost(1.1),
      note: offered,
    },
    {
      label: 'p50 latency',
      ours: 'ours.latency',
      peer: 'piscina.latency',
      peerLabel: 'raw piscina p50',
      metric: latency('p50'),
      note: offered,
    },
    {
      label: 'p99, ours with batching off',
      ours: 'ours.latency.nobatch',
      peer: 'piscina.latency',
      peerLabel: 'raw piscina p99',
      note: offered,
    },
    {
      label: 'p99 latency',
      ours: 'ours.latency',
      peer: 'piscina.latency.async',
      peerLabel: "raw piscina, atomics 'async', p99",
      note: offered,
    },
    {
      label: '(context) peak rate of ~1 ms tasks',
      ours: 'ours.latency.peak',
      peer: PEAK,
      peerLabel: 'raw piscina peak',
    },
  ],
};
