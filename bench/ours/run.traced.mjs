/**
 * Ours: a burst of `WorkerManager.run()` no-op calls with nestjs-worker/otel
 * in one of three setups, to price tracing on the hottest path:
 *
 *   telemetry: 'off'          no WorkerTelemetryModule (the baseline)
 *   telemetry: 'no-provider'  WorkerTelemetryModule.forRoot(), no SDK registered (the API's no-op providers)
 *   telemetry: 'provider'     WorkerTelemetryModule.forRoot() with an SDK: a span per attempt into a
 *                             batch processor whose exporter drops them, metrics into a MeterProvider
 *   telemetry: 'sdk-only'     the same SDK, no WorkerTelemetryModule: what the SDK costs by itself
 *                             (its AsyncLocalStorage context manager is on for every promise)
 *   telemetry: 'traces'       the module with the tracer provider (and context manager) only
 *   telemetry: 'metrics'      the module with the meter provider only
 *   telemetry: 'floor'        the same SDK, no module: each run() call is preceded by the bare SDK work a
 *                             span per attempt with its metrics needs (startSpan with the attempt's
 *                             attributes, 2 attributes set at its end, end(), 2 histogram records), done
 *                             by the caller itself: the cheapest a span-per-attempt design can be
 *
 * `task` and `payload` pick the work (a no-op by default; `burn` with an iteration count for CPU-bound
 * tasks). `measure: 'sdk'` boots no app: each round times `count` iterations of that bare SDK work alone,
 * in this process, and reports them per second (the floor's cost per attempt, without any pool).
 *
 * The SDK is registered before the app boots, as an application does.
 */
import 'reflect-metadata';
import { metrics, trace, context, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { WorkerTelemetryModule } from 'nestjs-worker/otel';
import { bootApp } from '../lib/app.mjs';
import { burst } from '../lib/drivers.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';

/** An exporter that drops what it gets: the cost measured is making spans, not shipping them. */
const dropExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => undefined,
  forceFlush: async () => undefined,
};

/** A reader nobody collects from: instruments still aggregate every recording. */
class IdleReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

function registerSdk({ traces = true, meters = true } = {}) {
  const providers = [];
  if (traces) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const tracing = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropExporter)] });
    trace.setGlobalTracerProvider(tracing);
    providers.push(tracing);
  }
  if (meters) {
    const metering = new MeterProvider({ readers: [new IdleReader()] });
    metrics.setGlobalMeterProvider(metering);
    providers.push(metering);
  }
  return () => Promise.all(providers.map((provider) => provider.shutdown()));
}

/**
 * The SDK's share of an attempt, as nestjs-worker/otel asks it of the SDK (the
 * same span name, kind, attributes and histogram records), without our hooks.
 */
function sdkFloor(task) {
  const tracer = trace.getTracer('bench-floor');
  const meter = metrics.getMeter('bench-floor');
  const wait = meter.createHistogram('bench.wait', { unit: 's' });
  const run = meter.createHistogram('bench.run', { unit: 's' });
  const waitAttributes = Object.freeze({
    'messaging.system': 'nestjs_worker',
    'messaging.operation.name': 'run',
    'messaging.destination.name': task,
  });
  const runAttributes = Object.freeze({ ...waitAttributes, 'nestjs_worker.task.outcome': 'completed' });
  const name = `run ${task}`;
  let seq = 0;
  return () => {
    const id = `run-${(++seq).toString(36)}`;
    wait.record(0.000001, waitAttributes);
    const span = tracer.startSpan(name, {
      kind: SpanKind.INTERNAL,
      attributes: {
        'messaging.system': 'nestjs_worker',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'run',
        'messaging.destination.name': task,
        'messaging.message.id': id,
        'nestjs_worker.task.name': task,
        'nestjs_worker.task.id': id,
        'nestjs_worker.task.attempt': 1,
        'nestjs_worker.task.source': 'run',
      },
    });
    span.setAttribute('nestjs_worker.task.outcome', 'completed');
    span.setAttribute('nestjs_worker.thread.id', 1);
    span.end();
    run.record(0.000001, runAttributes);
  };
}

/**
 * `count` iterations of the bare SDK work of an attempt, timed; the event
 * loop turns every 256 of them, so that the batch processor exports (drops)
 * its spans as it does under the pool instead of discarding a full queue.
 */
async function sdkRound(work, count) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    work();
    if ((i & 255) === 255) await new Promise(setImmediate);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    perSec: (count * 1000) / ms,
    ms,
    count,
    usPerAttempt: (ms * 1000) / count,
    cpuUsPerAttempt: (cpu.user + cpu.system) / count,
    cpuMsPerTask: (cpu.user + cpu.system) / 1000 / count,
  };
}

const SETUPS = {
  off: { sdk: undefined, module: false },
  'no-provider': { sdk: undefined, module: true },
  provider: { sdk: {}, module: true },
  'sdk-only': { sdk: {}, module: false },
  traces: { sdk: { meters: false }, module: true },
  metrics: { sdk: { traces: false }, module: true },
  floor: { sdk: {}, module: false, floor: true },
};

subjectMain(
  async ({
    telemetry = 'off',
    measure = 'burst',
    task = 'noop',
    payload = null,
    workers = 2,
    count,
    warmupCount,
    rounds,
  }) => {
    const setup = SETUPS[telemetry];
    if (!setup) throw new Error(`run.traced: unknown telemetry setup ${telemetry}`);
    const shutdownSdk = setup.sdk ? registerSdk(setup.sdk) : async () => undefined;
    if (measure === 'sdk') {
      const work = sdkFloor(task);
      try {
        return await measureRounds({
          rounds,
          size: count,
          warmupSize: warmupCount ?? count,
          round: (n) => sdkRound(work, n),
        });
      } finally {
        await shutdownSdk();
      }
    }
    const { app, wm } = await bootApp({
      workers,
      loop: { autoStart: false },
      imports: setup.module ? [WorkerTelemetryModule.forRoot()] : [],
    });
    const floor = setup.floor ? sdkFloor(task) : undefined;
    const submit = floor
      ? (p) => {
          floor();
          return wm.run(task, p);
        }
      : (p) => wm.run(task, p);
    try {
      return await measureRounds({
        rounds,
        size: count,
        warmupSize: warmupCount ?? count,
        // CPU per task of the whole process (every thread), in µs: on a busy
        // machine it moves far less than a throughput with the load.
        round: async (n) => {
          const figures = await burst(submit, n, payload);
          return { ...figures, cpuUsPerTask: figures.cpuMsPerTask * 1000 };
        },
      });
    } finally {
      await app.close();
      await shutdownSdk();
    }
  },
);
