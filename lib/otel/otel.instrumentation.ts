import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { TaskEnvelope, TaskOutcome } from '../interfaces/task-client.interface.js';
import type { Call } from '../pool/call.record.js';
import type { AttemptEnd, ThreadRestartReason, WorkerInstrumentation } from '../pool/worker.instrumentation.js';
import type { TracerSource } from './provider.source.js';
import { ATTR, MESSAGING_SYSTEM } from './telemetry.names.js';
import { formatTraceContext, parseTraceContext } from './trace-context.codec.js';
import type { WorkerMetrics } from './worker.metrics.js';

/**
 * The engine's hooks, in OpenTelemetry terms: one span per attempt (started
 * when the call reaches a thread, ended with its outcome), its parent the
 * context that called `run()` or the one stored with the task at
 * `enqueue()`; the span's own context goes to the thread with the call.
 */
export class OtelInstrumentation implements WorkerInstrumentation {
  /** Span names by task name: `run <name>` and `process <name>`, made once, not per attempt. */
  private readonly runNames = new Map<string, string>();
  private readonly processNames = new Map<string, string>();

  constructor(
    private readonly tracers: TracerSource | undefined,
    private readonly metrics: WorkerMetrics | undefined,
  ) {}

  capture(): unknown {
    if (!this.tracers?.get()) return undefined;
    return context.active();
  }

  extract(task: TaskEnvelope): unknown {
    if (task.traceContext === undefined || !this.tracers?.get()) return undefined;
    const remote = parseTraceContext(task.traceContext);
    return remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : undefined;
  }

  started(call: Call): string | undefined {
    this.metrics?.waited(call.name, call.source, performance.now() - call.queuedAt);
    const tracer = this.tracers?.get();
    if (!tracer) return undefined;
    const fromClient = call.source === 'client';
    const span = tracer.startSpan(
      this.spanName(call.name, fromClient),
      {
        kind: fromClient ? SpanKind.CONSUMER : SpanKind.INTERNAL,
        // In the options, not set afterwards: a sampler sees them, and a
        // span it drops costs no attribute at all.
        attributes: {
          [ATTR.messagingSystem]: MESSAGING_SYSTEM,
          [ATTR.operationType]: 'process',
          [ATTR.operationName]: fromClient ? 'process' : 'run',
          [ATTR.destination]: call.name,
          [ATTR.messageId]: call.id,
          [ATTR.taskName]: call.name,
          [ATTR.taskId]: call.id,
          [ATTR.attempt]: call.attempt,
          [ATTR.source]: call.source,
        },
      },
      (call.parent as Context | undefined) ?? ROOT_CONTEXT,
    );
    call.span = span;
    // A span the sampler dropped still carries its trace (not sampled) to the thread.
    return formatTraceContext(span.spanContext());
  }

  ended(call: Call, end: AttemptEnd): void {
    this.metrics?.ended(call.name, call.source, end);
    const span = call.span as Span | undefined;
    if (!span) return;
    call.span = undefined;
    if (span.isRecording()) {
      span.setAttribute(ATTR.outcome, end.outcome);
      if (end.threadId !== undefined) span.setAttribute(ATTR.threadId, end.threadId);
      if (end.outcome !== 'completed') {
        const error = end.error;
        span.setAttribute(ATTR.errorType, error?.name ?? end.outcome);
        span.recordException({
          name: error?.name ?? end.outcome,
          message: error?.message ?? end.outcome,
          stack: error?.stack,
        });
        span.setStatus({ code: SpanStatusCode.ERROR, message: error?.message });
      }
    }
    span.end();
  }

  requeued(call: Call): void {
    const span = call.span as Span | undefined;
    if (!span) return;
    call.span = undefined;
    // Its batch failed as a whole (or another call of it timed out): this
    // attempt runs again alone, under a new span with the same parent.
    if (span.isRecording()) span.setAttribute(ATTR.outcome, 'requeued');
    span.end();
  }

  items(name: string, count: number, end: AttemptEnd): void {
    this.metrics?.ended(name, 'map', end, count);
  }

  threadRestarted(reason: ThreadRestartReason): void {
    this.metrics?.restarted(reason);
  }

  loopOutcome(task: TaskEnvelope, status: TaskOutcome['status']): void {
    this.metrics?.loopOutcome(task.name, status);
  }

  /** Bounded by the task names the pool has: a call reaches a thread only for a name it knows. */
  private spanName(task: string, fromClient: boolean): string {
    const names = fromClient ? this.processNames : this.runNames;
    let name = names.get(task);
    if (name === undefined) names.set(task, (name = `${fromClient ? 'process' : 'run'} ${task}`));
    return name;
  }
}
