import { ValueType, type Attributes, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import type { WorkerStats } from '../interfaces/worker-stats.interface.js';
import type { TaskSource } from '../interfaces/worker-event.interface.js';
import type { AttemptEnd, ThreadRestartReason } from '../pool/worker.instrumentation.js';
import { ATTR, DURATION_BUCKETS, MESSAGING_SYSTEM, METRIC } from './telemetry.names.js';

const OPERATION: Record<TaskSource, string> = { client: 'process', run: 'run', map: 'map' };

/**
 * The pool's instruments. Counters and histograms are recorded as attempts
 * end, with attribute sets made once per task name and outcome (a no-op
 * task's attempt must not allocate them); gauges read `WorkerManager.stats()`
 * when the reader collects, so they cost nothing between collections.
 */
export class WorkerMetrics {
  private readonly processDuration: Histogram;
  private readonly waitDuration: Histogram;
  private readonly outcomes: Counter;
  private readonly loopOutcomes: Counter;
  private readonly restarts: Counter;
  private readonly attributeSets = new Map<string, Attributes>();

  constructor(meter: Meter, stats: () => WorkerStats | undefined) {
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS } };
    this.processDuration = meter.createHistogram(METRIC.processDuration, {
      ...seconds,
      description: 'Time a task attempt ran in its worker thread.',
    });
    this.waitDuration = meter.createHistogram(METRIC.waitDuration, {
      ...seconds,
      description: 'Time a task waited in the bounded queue before reaching a thread.',
    });
    this.outcomes = meter.createCounter(METRIC.outcomes, {
      unit: '{attempt}',
      description: 'Task attempts (and map() items) that ended, by outcome; what WorkerManager.stats() counts.',
      valueType: ValueType.INT,
    });
    this.loopOutcomes = meter.createCounter(METRIC.loopOutcomes, {
      unit: '{delivery}',
      description: 'Worker-loop deliveries by the outcome published: completed, retry, failed (dead letter), released.',
      valueType: ValueType.INT,
    });
    this.restarts = meter.createCounter(METRIC.restarts, {
      unit: '{thread}',
      description: 'Worker threads stopped and replaced, by reason.',
      valueType: ValueType.INT,
    });
    const gauge = (name: string, unit: string, description: string, read: (s: WorkerStats) => number) =>
      meter.createObservableGauge(name, { unit, description }).addCallback((result) => {
        const now = stats();
        if (now) result.observe(read(now));
      });
    gauge(METRIC.queueDepth, '{task}', 'Tasks waiting in the bounded queue.', (s) => s.queued);
    gauge(METRIC.queueWaiting, '{call}', 'run() / map() callers waiting for room in the queue.', (s) => s.waiting);
    gauge(METRIC.inFlight, '{task}', 'Tasks running in worker threads now.', (s) => s.running);
    gauge(METRIC.threadsAlive, '{thread}', 'Worker threads alive now.', (s) => s.workers.alive);
    gauge(
      METRIC.utilization,
      '1',
      "Share of the threads' time spent running tasks since start.",
      (s) => s.workers.utilization,
    );
  }

  waited(name: string, source: TaskSource, ms: number): void {
    this.waitDuration.record(ms / 1000, this.attributes(name, source, ''));
  }

  ended(name: string, source: TaskSource, end: AttemptEnd, count = 1): void {
    const attributes = this.attributes(name, source, end.outcome);
    this.outcomes.add(count, attributes);
    if (end.ms !== undefined) this.processDuration.record(end.ms / 1000, attributes);
  }

  restarted(reason: ThreadRestartReason): void {
    this.restarts.add(1, { [ATTR.restartReason]: reason });
  }

  loopOutcome(name: string, status: string): void {
    this.loopOutcomes.add(1, { [ATTR.taskName]: name, [ATTR.loopOutcome]: status });
  }

  /** One frozen attribute set per task name, source and outcome ('' for none). */
  private attributes(name: string, source: TaskSource, outcome: string): Attributes {
    const key = `${source}\u0000${outcome}\u0000${name}`;
    let attributes = this.attributeSets.get(key);
    if (!attributes) {
      attributes = {
        [ATTR.messagingSystem]: MESSAGING_SYSTEM,
        [ATTR.operationName]: OPERATION[source],
        [ATTR.destination]: name,
        ...(outcome ? { [ATTR.outcome]: outcome } : {}),
        ...(outcome && outcome !== 'completed' ? { [ATTR.errorType]: outcome } : {}),
      };
      // Bounded by the task names the pool has times the outcomes; a map() of a
      // name the pool does not know fails before it gets here.
      this.attributeSets.set(key, Object.freeze(attributes));
    }
    return attributes;
  }
}
