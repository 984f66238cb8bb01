/**
 * Allocation-heavy tasks (hashing, Buffer work, JSON), ~2 ms and ~20 ms each,
 * through our run() and raw piscina's, 2 threads each. Unlike burn(), these
 * bodies' speed depends on the thread's garbage collector, so this is where
 * what a thread has loaded and kept (a Nest context) can show. The same
 * calibrated number of rounds for everyone: a slower heap takes longer.
 *
 * Ours and raw piscina run their rounds in turn (interleaved), so that each
 * ratio compares rounds measured in the same minutes of a shared machine.
 *
 * The diagnostic subject is a raw piscina thread that boots the same Nest
 * context ours do: it tells a cost of the Nest-loaded heap from one of our
 * dispatch layer.
 */
import { atLeast, throughput } from './define.mjs';
import { allocRounds } from './shared.mjs';

const BODIES = ['hash', 'buffers', 'json'];
const SIZES = [2, 20];

const sizes = (ctx, ms) =>
  ms === 2
    ? { count: ctx.size(1000, 200), warmupCount: ctx.size(200, 50) }
    : { count: ctx.size(200, 40), warmupCount: ctx.size(40, 10) };

const subject = (program, label, body, ms, extra = {}, ours = false) => ({
  label,
  program,
  ours,
  after: ['calibrate'],
  metric: throughput('tasks/s'),
  args: (ctx) => ({ task: body, payload: allocRounds(ctx, body, ms), workers: 2, ...sizes(ctx, ms), ...extra }),
});

const subjects = {};
const rows = [];
for (const ms of SIZES) {
  for (const body of BODIES) {
    const ours = `ours.alloc.${body}.${ms}`;
    const peer = `piscina.alloc.${body}.${ms}`;
    subjects[ours] = {
      ...subject('ours/run.mjs', `ours: run() ~${ms} ms ${body} tasks, 2 threads`, body, ms, {}, true),
      interleave: peer,
    };
    subjects[peer] = subject('peers/piscina.mjs', `raw piscina: ~${ms} ms ${body} tasks, 2 threads`, body, ms);
    rows.push({
      label: `~${ms} ms ${body} tasks, 2 threads`,
      ours,
      peer,
      peerLabel: 'raw piscina, 2 threads',
      target: atLeast(0.97),
    });
  }
}
subjects['piscina-nest.alloc.hash.2'] = subject(
  'peers/piscina.mjs',
  'raw piscina + a Nest context per thread: ~2 ms hash tasks (diagnostic)',
  'hash',
  2,
  { thread: 'nest-context' },
);
rows.push({
  label: '(diagnostic) ~2 ms hash tasks',
  ours: 'piscina-nest.alloc.hash.2',
  peer: 'piscina.alloc.hash.2',
  peerLabel: 'raw piscina + Nest context vs bare',
});

export default {
  name: 'alloc',
  title: 'allocation-heavy tasks (hashing, Buffers, JSON), ~2 ms and ~20 ms, 2 threads',
  subjects,
  rows,
};
