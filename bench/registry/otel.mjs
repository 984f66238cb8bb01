/**
 * The price of nestjs-worker/otel on the `run()` no-op burst (the hottest
 * path: per-call overhead is all there is to see), what the SDK's own work
 * for a span per attempt costs (the floor of that design), and the price on
 * short CPU-bound tasks (~0.2 ms and ~1 ms), where a task's own work is
 * there to compare with. Each setup is measured round by round in turn with
 * a baseline of its own (the same program with no telemetry), so the
 * machine's drift falls on both figures of a ratio.
 */
import { atLeast, atMost, figure, throughput } from './define.mjs';
import { iterations } from './shared.mjs';

/** CPU per task of the whole process, every thread: what tracing adds to a task, whatever the machine's load. */
const cpuPerTask = figure('cpuUsPerTask', 'µs CPU/task');

const counts = (ctx) => ({ count: ctx.size(100_000, 10_000), warmupCount: ctx.size(20_000, 2_000) });
const subject = (label, telemetry, interleave) => ({
  label,
  program: 'ours/run.traced.mjs',
  ours: true,
  metric: throughput('tasks/s'),
  ...(interleave ? { interleave } : {}),
  args: (ctx) => ({ ...counts(ctx), telemetry }),
});
/** A burst of ~`ms` CPU-bound `burn` tasks (the calibrated iteration count), `count` per round. */
const burnSubject = (label, telemetry, ms, count, interleave) => ({
  ...subject(label, telemetry, interleave),
  after: ['calibrate'],
  args: (ctx) => ({
    telemetry,
    task: 'burn',
    payload: iterations(ctx, ms),
    count: ctx.size(count, count / 10),
    warmupCount: ctx.size(count / 5, count / 50),
  }),
});

export default {
  name: 'otel',
  title: 'tracing and metrics (nestjs-worker/otel) on the run() no-op burst',
  subjects: {
    'ours.run.otel-provider': subject(
      'ours: run() no-op burst, telemetry with an SDK',
      'provider',
      'ours.run.otel-off-a',
    ),
    'ours.run.otel-off-a': subject('ours: run() no-op burst, no telemetry (baseline a)', 'off'),
    'ours.run.otel-no-provider': subject(
      'ours: run() no-op burst, telemetry module without an SDK',
      'no-provider',
      'ours.run.otel-off-b',
    ),
    'ours.run.otel-off-b': subject('ours: run() no-op burst, no telemetry (baseline b)', 'off'),
    'ours.run.otel-provider-c': subject(
      'ours: run() no-op burst, telemetry with an SDK (against the SDK alone)',
      'provider',
      'ours.run.otel-sdk-only',
    ),
    'ours.run.otel-sdk-only': subject('ours: run() no-op burst, the SDK registered, no telemetry module', 'sdk-only'),
    'ours.run.otel-traces': subject(
      'ours: run() no-op burst, telemetry with a tracer provider only',
      'traces',
      'ours.run.otel-off-d',
    ),
    'ours.run.otel-off-d': subject('ours: run() no-op burst, no telemetry (baseline d)', 'off'),
    'ours.run.otel-metrics': subject(
      'ours: run() no-op burst, telemetry with a meter provider only',
      'metrics',
      'ours.run.otel-off-e',
    ),
    'ours.run.otel-off-e': subject('ours: run() no-op burst, no telemetry (baseline e)', 'off'),
    'ours.run.otel-floor': subject(
      "ours: run() no-op burst, the SDK registered, each call preceded by the SDK's work of an attempt, no module",
      'floor',
      'ours.run.otel-off-f',
    ),
    'ours.run.otel-off-f': subject('ours: run() no-op burst, no telemetry (baseline f)', 'off'),
    'ours.otel.sdk-attempt': {
      label: "the SDK's work of an attempt alone (span with its attributes, 2 histogram records), no pool",
      program: 'ours/run.traced.mjs',
      ours: true,
      metric: figure('cpuUsPerAttempt', 'µs CPU'),
      args: (ctx) => ({ telemetry: 'provider', measure: 'sdk', ...counts(ctx) }),
    },
    'ours.run.otel-burn-0.2': burnSubject(
      'ours: run() ~0.2 ms CPU tasks, telemetry with an SDK',
      'provider',
      0.2,
      10_000,
      'ours.run.otel-off-burn-0.2',
    ),
    'ours.run.otel-off-burn-0.2': burnSubject('ours: run() ~0.2 ms CPU tasks, no telemetry', 'off', 0.2, 10_000),
    'ours.run.otel-burn-1': burnSubject(
      'ours: run() ~1 ms CPU tasks, telemetry with an SDK',
      'provider',
      1,
      3_000,
      'ours.run.otel-off-burn-1',
    ),
    'ours.run.otel-off-burn-1': burnSubject('ours: run() ~1 ms CPU tasks, no telemetry', 'off', 1, 3_000),
    'ours.run.otel-floor-burn-1': burnSubject(
      "ours: run() ~1 ms CPU tasks, each call preceded by the SDK's work of an attempt, no module",
      'floor',
      1,
      3_000,
      'ours.run.otel-off-burn-1-b',
    ),
    'ours.run.otel-off-burn-1-b': burnSubject(
      'ours: run() ~1 ms CPU tasks, no telemetry (baseline b)',
      'off',
      1,
      3_000,
    ),
  },
  rows: [
    {
      label: 'run() no-op burst: spans and metrics with an SDK registered',
      ours: 'ours.run.otel-provider',
      peer: 'ours.run.otel-off-a',
      peerLabel: 'the same without nestjs-worker/otel',
      // The budget: at most 10% slower with a provider. Out of reach on a
      // no-op with a span per attempt: an attempt costs the pool ~8 µs of CPU, the
      // SDK's own work for its span and 2 histogram records ~6 µs alone and ~12 µs
      // in the burst (see the floor rows), so the SDK by itself takes ~0.5x.
      target: atLeast(0.9),
    },
    {
      label: 'run() no-op burst: WorkerTelemetryModule without an SDK',
      ours: 'ours.run.otel-no-provider',
      peer: 'ours.run.otel-off-b',
      peerLabel: 'the same without nestjs-worker/otel',
      // "No cost when no provider is registered": within the noise of a shared machine.
      target: atLeast(0.97),
    },
    // Where the cost of the first row goes (context, no targets).
    {
      label: 'run() no-op burst: the module with an SDK, against the same SDK without the module',
      ours: 'ours.run.otel-provider-c',
      peer: 'ours.run.otel-sdk-only',
      peerLabel: 'the SDK registered, no nestjs-worker/otel',
    },
    {
      label: 'run() no-op burst: spans only (tracer provider and context manager)',
      ours: 'ours.run.otel-traces',
      peer: 'ours.run.otel-off-d',
      peerLabel: 'the same without nestjs-worker/otel',
    },
    {
      label: 'run() no-op burst: metrics only (meter provider)',
      ours: 'ours.run.otel-metrics',
      peer: 'ours.run.otel-off-e',
      peerLabel: 'the same without nestjs-worker/otel',
    },
    // The floor of a span per attempt: the SDK's work alone, done by the caller,
    // with no hook of ours. The first row cannot do better than this one.
    {
      label: "run() no-op burst: the SDK's work of an attempt without the module (the floor)",
      ours: 'ours.run.otel-floor',
      peer: 'ours.run.otel-off-f',
      peerLabel: 'the same without the SDK',
    },
    {
      label: "the SDK's work of an attempt, CPU per attempt, in the bench's setup (no pool)",
      ours: 'ours.otel.sdk-attempt',
    },
    // The same pairs by CPU per task (every thread of the process): steadier
    // than throughput on a busy machine, and the difference of the two
    // figures is what an attempt costs in µs.
    {
      label: 'run() no-op burst, CPU per task: spans and metrics with an SDK registered',
      ours: 'ours.run.otel-provider',
      peer: 'ours.run.otel-off-a',
      peerLabel: 'the same without nestjs-worker/otel',
      metric: cpuPerTask,
    },
    {
      label: "run() no-op burst, CPU per task: the SDK's work of an attempt without the module (the floor)",
      ours: 'ours.run.otel-floor',
      peer: 'ours.run.otel-off-f',
      peerLabel: 'the same without the SDK',
      metric: cpuPerTask,
    },
    {
      label: '~0.2 ms CPU tasks: spans and metrics with an SDK registered',
      ours: 'ours.run.otel-burn-0.2',
      peer: 'ours.run.otel-off-burn-0.2',
      peerLabel: 'the same without nestjs-worker/otel',
      target: atLeast(0.9),
    },
    {
      label: '~1 ms CPU tasks: spans and metrics with an SDK registered',
      ours: 'ours.run.otel-burn-1',
      peer: 'ours.run.otel-off-burn-1',
      peerLabel: 'the same without nestjs-worker/otel',
      target: atLeast(0.9),
    },
    // The SDK's own share on ~1 ms tasks, with no hook of ours: the row above cannot do better.
    {
      label: "~1 ms CPU tasks: the SDK's work of an attempt without the module (the floor)",
      ours: 'ours.run.otel-floor-burn-1',
      peer: 'ours.run.otel-off-burn-1-b',
      peerLabel: 'the same without the SDK',
    },
    {
      label: '~0.2 ms CPU tasks, CPU per task: spans and metrics with an SDK registered',
      ours: 'ours.run.otel-burn-0.2',
      peer: 'ours.run.otel-off-burn-0.2',
      peerLabel: 'the same without nestjs-worker/otel',
      metric: cpuPerTask,
      // The budget in CPU: at most 10% more per task.
      target: atMost(1.1),
    },
    {
      label: '~1 ms CPU tasks, CPU per task: spans and metrics with an SDK registered',
      ours: 'ours.run.otel-burn-1',
      peer: 'ours.run.otel-off-burn-1',
      peerLabel: 'the same without nestjs-worker/otel',
      metric: cpuPerTask,
      target: atMost(1.1),
    },
  ],
};
