import { ValueType, type Attributes, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import type { WorkerStats } from '../interfaces/worker-stats.interface.js';
import type { TaskSource } from '../interfaces/worker-event.interface.js';
import type { AttemptEnd, ThreadRestartReason } from '../pool/worker.instrumentation.js';
import { ATTR, DURATION_BUCKETS, MESSAGING_SYSTEM, METRIC } from './telemetry.names.js';

const OPERATION: Record<TaskSource, string> = { client: 'process', run: 'run', map: 'map' };

/** An attribute set of one task name, source and outcome, with the attempts counted under it since start. */
interface Series {
  readonly attributes: Attributes;
  count: number;
}

/** The series of one task name and source: its wait (no outcome) and one per outcome. */
interface SourceSeries {
  readonly wait: Series;
  readonly outcomes: Map<string, Series>;
}

/**
 * The pool's instruments. Durations are recorded as attempts start and end,
 * with attribute sets made once per task name, source and outcome (an
 * attempt allocates none, and looks its set up without building a key);
 * outcome counts are plain integers added here and read, like the gauges
 * (`WorkerManager.stats()`), by observable instruments when the reader
 * collects: an SDK counter's `add()` hashes its attributes on every call,
 * which cost as much as a histogram record per attempt.
 */
export class WorkerMetrics {
  private readonly processDuration: Histogram;
  private readonly waitDuration: Histogram;
  private readonly loopOutcomes: Counter;
  private readonly restarts: Counter;
  private readonly series = new Map<string, Record<TaskSource, SourceSeries | undefined>>();

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
    meter
      .createObservableCounter(METRIC.outcomes, {
        unit: '{attempt}',
        description: 'Task attempts (and map() items) that ended, by outcome; what WorkerManager.stats() counts.',
        valueType: ValueType.INT,
      })
      .addCallback((result) => {
        for (const sources of this.series.values()) {
          for (const source of Object.values(sources)) {
            if (source) for (const series of source.outcomes.values()) result.observe(series.count, series.attributes);
          }
        }
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
    this.waitDuration.record(ms / 1000, this.sourceSeries(name, source).wait.attributes);
  }

  ended(name: string, source: TaskSource, end: AttemptEnd, count = 1): void {
    const outcomes = this.sourceSeries(name, source).outcomes;
    let series = outcomes.get(end.outcome);
    if (!series) outcomes.set(end.outcome, (series = newSeries(name, source, end.outcome)));
    series.count += count;
    if (end.ms !== undefined) this.processDuration.record(end.ms / 1000, series.attributes);
  }

  restarted(reason: ThreadRestartReason): void {
    this.restarts.add(1, { [ATTR.restartReason]: reason });
  }

  loopOutcome(name: string, status: string): void {
    this.loopOutcomes.add(1, { [ATTR.taskName]: name, [ATTR.loopOutcome]: status });
  }

  /**
   * The series of task `name` from `source`. Bounded by the task names the
   * pool has times the sources and outcomes; a map() of a name the pool does
   * not know fails before it gets here.
   */
  private sourceSeries(name: string, source: TaskSource): SourceSeries {
    let sources = this.series.get(name);
    if (!sources) this.series.set(name, (sources = { client: undefined, run: undefined, map: undefined }));
    return (sources[source] ??= { wait: newSeries(name, source, ''), outcomes: new Map() });
  }
}

/** A frozen attribute set for task `name`, `source` and `outcome` ('' for none), counted from 0. */
function newSeries(name: string, source: TaskSource, outcome: string): Series {
  const attributes: Attributes = {
    [ATTR.messagingSystem]: MESSAGING_SYSTEM,
    [ATTR.operationName]: OPERATION[source],
    [ATTR.destination]: name,
    ...(outcome ? { [ATTR.outcome]: outcome } : {}),
    ...(outcome && outcome !== 'completed' ? { [ATTR.errorType]: outcome } : {}),
  };
  return { attributes: Object.freeze(attributes), count: 0 };
}
