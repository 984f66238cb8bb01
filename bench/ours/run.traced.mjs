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
 *
 * The SDK is registered before the app boots, as an application does.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { metrics, trace, context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { WorkerManager, WorkerModule } from 'nestjs-worker';
import { WorkerTelemetryModule } from 'nestjs-worker/otel';
import { tasksFile } from '../lib/app.mjs';
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

const SETUPS = {
  off: { sdk: undefined, module: false },
  'no-provider': { sdk: undefined, module: true },
  provider: { sdk: {}, module: true },
  'sdk-only': { sdk: {}, module: false },
  traces: { sdk: { meters: false }, module: true },
  metrics: { sdk: { traces: false }, module: true },
};

subjectMain(async ({ telemetry = 'off', task = 'noop', workers = 2, count, warmupCount, rounds }) => {
  const setup = SETUPS[telemetry];
  if (!setup) throw new Error(`run.traced: unknown telemetry setup ${telemetry}`);
  const shutdownSdk = setup.sdk ? registerSdk(setup.sdk) : async () => undefined;
  const { BenchTasksModule } = await import(tasksFile.href);
  class TracedBenchModule {}
  Module({
    imports: [
      BenchTasksModule,
      WorkerModule.forRoot({
        tasksModule: { module: BenchTasksModule, file: tasksFile },
        workers,
        loop: { autoStart: false },
      }),
      ...(setup.module ? [WorkerTelemetryModule.forRoot()] : []),
    ],
  })(TracedBenchModule);
  const app = await NestFactory.createApplicationContext(TracedBenchModule, {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  const wm = app.get(WorkerManager);
  try {
    return await measureRounds({
      rounds,
      size: count,
      warmupSize: warmupCount ?? count,
      round: (n) => burst((p) => wm.run(task, p), n, null),
    });
  } finally {
    await app.close();
    await shutdownSdk();
  }
});
