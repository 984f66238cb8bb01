/**
 * CPU of an idle process (every thread, via process.cpuUsage()) over a
 * window, after the loop's idle backoff has settled. An idle library should
 * cost nothing, so the target is on our own figure, not a ratio.
 */
import { absoluteBelow, cpuShare } from './define.mjs';

const window = (ctx) => ({ durationMs: ctx.size(10_000, 2_000) });

const ourIdle = (label, backend) => ({
  label,
  program: 'ours/idle.mjs',
  ours: true,
  ...(backend ? { server: backend } : {}),
  metric: cpuShare(),
  args: (ctx) => ({ ...window(ctx), ...(backend ? { backend, url: ctx.servers[backend] } : {}) }),
});

export default {
  name: 'idle',
  title: 'idle: empty source, CPU over the window (all threads)',
  subjects: {
    'ours.idle': ourIdle('ours: idle app, loop polling an empty in-memory client'),
    // The database server's CPU is not included: app process only.
    'ours.idle.pg': ourIdle('ours: idle app, loop over an empty PostgreSQL queue (app process only)', 'postgres'),
    'ours.idle.redis': ourIdle('ours: idle app, loop over an empty Redis queue (app process only)', 'redis'),
    'piscina.idle': {
      label: 'raw piscina: idle pool',
      program: 'peers/piscina.mjs',
      metric: cpuShare(),
      args: (ctx) => ({ mode: 'idle', ...window(ctx) }),
    },
    'python.seed.idle': {
      label: 'python seed port as written, empty StubClient',
      program: 'peers/python.mjs',
      metric: cpuShare(),
      args: (ctx) => ({ script: 'seed_worker.py', mode: 'idle', ...window(ctx) }),
    },
    'python.pool.idle': {
      label: 'python Pool(2), idle',
      program: 'peers/python.mjs',
      metric: cpuShare(),
      args: (ctx) => ({ script: 'pool_bench.py', mode: 'idle', ...window(ctx) }),
    },
  },
  rows: [
    {
      label: 'idle CPU, in-memory client',
      ours: 'ours.idle',
      peerLabel: '(absolute target)',
      target: absoluteBelow(1),
    },
    {
      label: 'idle CPU, PostgreSQL client',
      ours: 'ours.idle.pg',
      peerLabel: '(absolute; app process only)',
      target: absoluteBelow(1),
    },
    {
      label: 'idle CPU, Redis client',
      ours: 'ours.idle.redis',
      peerLabel: '(absolute; app process only)',
      target: absoluteBelow(1),
    },
    { label: 'idle CPU, % of one core', ours: 'ours.idle', peer: 'piscina.idle', peerLabel: 'raw piscina, idle pool' },
    {
      label: 'idle CPU, % of one core',
      ours: 'ours.idle',
      peer: 'python.seed.idle',
      peerLabel: 'python seed port as written',
    },
    {
      label: 'idle CPU, % of one core',
      ours: 'ours.idle',
      peer: 'python.pool.idle',
      peerLabel: 'python Pool(2), idle',
    },
  ],
};
