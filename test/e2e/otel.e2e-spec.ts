/**
 * nestjs-worker/otel with the SDK's in-memory exporter and reader: a trace
 * followed from an HTTP request through run() into the spans a handler opens
 * in its worker thread; attempt spans' attributes and recorded exceptions;
 * an enqueue() joining its attempt to the enqueuing trace; metrics that
 * agree with WorkerManager.stats().
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  Controller,
  Get,
  Inject,
  Module,
  Param,
  type INestApplication,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { InMemoryTaskClient, TASK_CLIENT, WorkerManager, WorkerModule } from '../../lib/index.js';
import { WORKER_METRICS, WORKER_SPAN_ATTRIBUTES as ATTR, WorkerTelemetryModule } from '../../lib/otel.js';
import { registerTestSdk, type TestSdk } from '../fixtures/otel/otel.sdk.js';
import { OtelTasksModule, otelTasksFile, type SpanInfo } from '../fixtures/otel/otel.tasks.js';
import { rejectionOf, until } from '../support/app.js';

type Histogram = HistogramMetricData['dataPoints'][number]['value'];

@Controller()
class TracedController {
  constructor(@Inject(WorkerManager) private readonly workers: WorkerManager) {}

  @Get('traced/:label')
  traced(@Param('label') label: string): Promise<unknown> {
    return this.workers.run('otel.traced', { label });
  }
}

@Module({
  imports: [
    OtelTasksModule,
    WorkerModule.forRoot({ tasksModule: { module: OtelTasksModule, file: otelTasksFile }, workers: 1 }),
    WorkerTelemetryModule.forRoot(),
  ],
  controllers: [TracedController],
})
class TracedAppModule implements NestModule {
  /** What an HTTP instrumentation does: a server span, child of the caller's traceparent, active while the request is handled. */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply((req: { method: string; url: string; headers: Record<string, string> }, res: any, next: () => void) => {
        const parent = propagation.extract(ROOT_CONTEXT, req.headers);
        const span = trace
          .getTracer('http-test')
          .startSpan(`${req.method} ${req.url}`, { kind: SpanKind.SERVER }, parent);
        res.on('finish', () => span.end());
        context.with(trace.setSpan(parent, span), next);
      })
      .forRoutes(TracedController);
  }
}

describe('nestjs-worker/otel: run() and the in-memory client', () => {
  let sdk: TestSdk;
  let app: INestApplication;
  let manager: WorkerManager;
  let base: string;
  const tracer = () => trace.getTracer('otel-test');
  const byName = (name: string) => sdk.spans().filter((s) => s.name === name);

  before(async () => {
    sdk = registerTestSdk();
    app = await NestFactory.create(TracedAppModule, { logger: ['error'], abortOnError: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    manager = app.get(WorkerManager);
  });

  after(async () => {
    await app?.close();
    await sdk?.shutdown();
  });

  it('follows a trace from an HTTP request through run() into the spans the handler opens in its thread', async () => {
    const client = tracer().startSpan('client GET /traced', { kind: SpanKind.CLIENT });
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, client), headers);
    const response = await fetch(`${base}/traced/http`, { headers });
    client.end();
    assert.equal(response.status, 200);
    const handler = (await response.json()) as SpanInfo & { inner: SpanInfo };
    await until(() => byName('GET /traced/http').length === 1);

    const traceId = client.spanContext().traceId;
    const [server] = byName('GET /traced/http');
    assert.equal(server!.parentSpanId, client.spanContext().spanId);
    const attempts = byName('run otel.traced');
    assert.equal(attempts.length, 1);
    const attempt = attempts[0]!;
    assert.equal(attempt.traceId, traceId);
    assert.equal(attempt.parentSpanId, server!.spanId, 'the attempt is a child of the request that called run()');
    // Opened in the worker thread, exported by that thread's own SDK.
    assert.equal(handler.name, 'handler http');
    assert.equal(handler.traceId, traceId);
    assert.equal(handler.parentSpanId, attempt.spanId, "the handler's span is a child of its attempt's span");
    assert.equal(handler.inner.traceId, traceId);
    assert.equal(handler.inner.parentSpanId, handler.spanId, 'the context survived an await in the thread');

    assert.equal(attempt.attributes[ATTR.taskName], 'otel.traced');
    assert.match(String(attempt.attributes[ATTR.taskId]), /^run-/);
    assert.equal(attempt.attributes[ATTR.attempt], 1);
    assert.equal(attempt.attributes[ATTR.outcome], 'completed');
    assert.equal(typeof attempt.attributes[ATTR.threadId], 'number');
    assert.notEqual(attempt.attributes[ATTR.threadId], 0, 'the id of the worker thread, not the main thread');
    assert.equal(attempt.status, SpanStatusCode.UNSET);
  });

  it("records a failed attempt's exception and outcome on its span", async () => {
    const parent = tracer().startSpan('caller');
    const rejection = await rejectionOf(
      context.with(trace.setSpan(context.active(), parent), () => manager.run('otel.fails')),
    );
    parent.end();
    assert.equal(rejection.name, 'PurposeError');
    const [attempt] = byName('run otel.fails');
    assert.equal(attempt!.parentSpanId, parent.spanContext().spanId);
    assert.equal(attempt!.status, SpanStatusCode.ERROR);
    assert.deepEqual(attempt!.events, ['exception']);
    assert.equal(attempt!.attributes[ATTR.outcome], 'error');
    assert.equal(attempt!.attributes['error.type'], 'PurposeError');
  });

  it('joins an attempt of an enqueued task to the trace that enqueued it', async () => {
    const client = app.get<InMemoryTaskClient>(TASK_CLIENT);
    const producer = tracer().startSpan('producer');
    const id = context.with(trace.setSpan(context.active(), producer), () =>
      client.enqueue('otel.traced', { label: 'enqueued' }),
    );
    producer.end();
    const record = await client.waitFor<SpanInfo>(id);
    assert.equal(record.state, 'completed');
    const [attempt] = sdk.spans().filter((s) => s.name === 'process otel.traced' && s.attributes[ATTR.taskId] === id);
    assert.ok(attempt, 'a span for the attempt');
    assert.equal(attempt.traceId, producer.spanContext().traceId);
    assert.equal(attempt.parentSpanId, producer.spanContext().spanId);
    assert.equal(record.result!.parentSpanId, attempt.spanId);
  });

  it('reports metrics that agree with stats()', async () => {
    const client = app.get<InMemoryTaskClient>(TASK_CLIENT);
    await Promise.all(Array.from({ length: 200 }, () => manager.run('otel.noop')));
    for (let i = 0; i < 3; i++) await rejectionOf(manager.run('otel.fails'));
    await rejectionOf(manager.run('otel.sleep', 5000, { timeoutMs: 50 }));
    const ids = [client.enqueue('otel.noop'), client.enqueue('otel.fails', undefined, { maxAttempts: 1 })];
    await Promise.all(ids.map((id) => client.waitFor(id)));
    await until(() => manager.stats().workers.alive === 1 && manager.stats().running === 0);

    const stats = manager.stats();
    const points = await sdk.metrics();
    const sum = (metric: string, match: (a: Record<string, unknown>) => boolean = () => true) =>
      (points.get(metric) ?? []).filter((p) => match(p.attributes)).reduce((n, p) => n + (p.value as number), 0);
    const outcome = (o: string) => (a: Record<string, unknown>) => a[ATTR.outcome] === o;
    assert.equal(sum(WORKER_METRICS.outcomes, outcome('completed')), stats.completed);
    assert.equal(
      sum(WORKER_METRICS.outcomes, (a) => a[ATTR.outcome] !== 'completed'),
      stats.failed,
    );
    assert.equal(sum(WORKER_METRICS.outcomes, outcome('timeout')), stats.timedOut);
    assert.equal(sum(WORKER_METRICS.outcomes, outcome('crash')), stats.crashed);
    assert.equal(stats.timedOut, 1);
    assert.ok(stats.completed >= 203, `completed ${stats.completed}`);

    const durations = (points.get(WORKER_METRICS.processDuration) ?? []).map((p) => p.value as Histogram);
    const counted = durations.reduce((n, h) => n + h.count, 0);
    // Every attempt that ran to an answer has a duration; the timed-out one's thread died with it.
    assert.equal(counted, stats.completed + stats.failed - stats.timedOut);
    const waits = (points.get(WORKER_METRICS.waitDuration) ?? []).map((p) => p.value as Histogram);
    assert.equal(
      waits.reduce((n, h) => n + h.count, 0),
      stats.completed + stats.failed,
    );

    assert.equal(
      sum(WORKER_METRICS.restarts, (a) => a[ATTR.restartReason] === 'timeout'),
      1,
    );
    assert.equal(
      sum(WORKER_METRICS.loopOutcomes, (a) => a[ATTR.loopOutcome] === 'failed'),
      1,
    );
    assert.ok(sum(WORKER_METRICS.loopOutcomes, (a) => a[ATTR.loopOutcome] === 'completed') >= 2);

    const gauge = (metric: string) => points.get(metric)?.[0]?.value;
    assert.equal(gauge(WORKER_METRICS.queueDepth), stats.queued);
    assert.equal(gauge(WORKER_METRICS.inFlight), stats.running);
    assert.equal(gauge(WORKER_METRICS.threadsAlive), stats.workers.alive);
    const utilization = gauge(WORKER_METRICS.utilization) as number;
    assert.ok(utilization > 0 && utilization <= 1, `utilization ${utilization}`);
  });
});
