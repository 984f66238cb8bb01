/**
 * The cross-process trace test, on any durable client: a producer span in
 * this process enqueues a task; a consumer process (test/fixtures/otel/
 * consumer.app) runs it; the trace must go from the producer's span through
 * the consumer's attempt span into the span its handler opened in its thread.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import type { TaskStore } from '../../lib/index.js';
import { WORKER_SPAN_ATTRIBUTES as ATTR, propagateTraceContextOnEnqueue } from '../../lib/otel.js';
import type { SpanInfo } from '../fixtures/otel/otel.tasks.js';
import { registerTestSdk } from '../fixtures/otel/otel.sdk.js';
import { until } from './app.js';

const consumerApp = fileURLToPath(new URL('../fixtures/otel/consumer.app.js', import.meta.url));

export async function followTraceAcrossProcesses(store: TaskStore, consumerEnv: Record<string, string>): Promise<void> {
  const sdk = registerTestSdk({ metering: false });
  // A producer without Nest: it stores the trace context itself.
  const stop = propagateTraceContextOnEnqueue();
  const consumer = fork(consumerApp, [], { env: { ...process.env, ...consumerEnv }, stdio: 'inherit' });
  try {
    await message(consumer, 'ready', 60_000);
    const producer = trace.getTracer('producer').startSpan('producer: enqueue report');
    const id = await context.with(trace.setSpan(context.active(), producer), () =>
      store.enqueue('otel.traced', { label: 'remote' }),
    );
    producer.end();
    await until(async () => (await store.get(id))?.state === 'completed', 30_000);
    const handler = (await store.get<SpanInfo>(id))!.result!;

    consumer.send({ kind: 'spans' });
    const { spans } = (await message(consumer, 'spans', 10_000)) as { spans: SpanInfo[] };
    const attempt = spans.find((s) => s.name === 'process otel.traced' && s.attributes[ATTR.taskId] === id);
    assert.ok(attempt, `the consumer exported no attempt span for ${id}: ${spans.map((s) => s.name).join(', ')}`);
    const traceId = producer.spanContext().traceId;
    assert.equal(attempt.traceId, traceId, 'the attempt joined the trace that enqueued the task');
    assert.equal(attempt.parentSpanId, producer.spanContext().spanId);
    assert.equal(attempt.attributes[ATTR.attempt], 1);
    assert.equal(attempt.attributes[ATTR.outcome], 'completed');
    assert.equal(handler.name, 'handler remote');
    assert.equal(handler.traceId, traceId);
    assert.equal(
      handler.parentSpanId,
      attempt.spanId,
      "the handler's span in the consumer's thread is the attempt's child",
    );
  } finally {
    stop();
    consumer.send({ kind: 'close' });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        consumer.kill('SIGKILL');
        resolve();
      }, 15_000);
      consumer.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await sdk.shutdown();
  }
}

function message(child: ChildProcess, kind: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "${kind}" from the consumer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (m: { kind: string }) => {
      if (m.kind !== kind) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`the consumer exited (${code}) before "${kind}"`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
