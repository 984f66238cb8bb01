/**
 * OTEL_CONSOLE=1: an OpenTelemetry SDK for this process that prints every
 * finished span to the console — the HTTP request's spans if an
 * instrumentation adds them, and nestjs-worker's span per task attempt
 * (WorkerTelemetryModule, see app.module.ts), child of the context that
 * called run() or enqueue(). The SDK packages are the app's dependencies,
 * never nestjs-worker's: the library uses @opentelemetry/api only.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

export const consoleTracing = process.env.OTEL_CONSOLE === '1';

if (consoleTracing) {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] }),
  );
}
