/**
 * The price of nestjs-worker/otel on the `run()` no-op burst (the hottest
 * path: per-call overhead is all there is to see). Each setup is measured
 * round by round in turn with a baseline of its own (the same program with
 * no telemetry), so the machine's drift falls on both figures of a ratio.
 */
import { atLeast, throughput } from './define.mjs';

const counts = (ctx) => ({ count: ctx.size(100_000, 10_000), warmupCount: ctx.size(20_000, 2_000) });
const subject = (label, telemetry, interleave) => ({
  label,
  program: 'ours/run.traced.mjs',
  ours: true,
  metric: throughput('tasks/s'),
  ...(interleave ? { interleave } : {}),
  args: (ctx) => ({ ...counts(ctx), telemetry }),
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
  },
  rows: [
    {
      label: 'run() no-op burst: spans and metrics with an SDK registered',
      ours: 'ours.run.otel-provider',
      peer: 'ours.run.otel-off-a',
      peerLabel: 'the same without nestjs-worker/otel',
      // The budget: at most 10% slower with a provider.
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
  ],
};
