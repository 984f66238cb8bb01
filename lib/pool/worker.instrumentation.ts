import type { CallFailureReason } from '../boundary/task.failure.js';
import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type { TaskEnvelope, TaskOutcome } from '../interfaces/task-client.interface.js';
import type { TraceContextText } from '../common/trace-context.hooks.js';
import type { Call } from './call.record.js';

/** How an attempt ended, as the dispatcher counts it in `stats()`. */
export interface AttemptEnd {
  readonly outcome: 'completed' | CallFailureReason;
  /** Run time in the thread, ms (absent when it never ran or its thread died). */
  readonly ms?: number;
  readonly threadId?: number;
  readonly error?: SerializedTaskError;
}

/** Why a worker thread was stopped and replaced. */
export type ThreadRestartReason = 'timeout' | 'crash' | 'aborted' | 'recycled' | 'boot-failed';

/**
 * What telemetry (nestjs-worker/otel) sees of the engine. The orchestrator's
 * event sink carries it to the pool, the dispatcher and the loop, which call
 * it only when one is set: the core has no telemetry imports and pays one
 * property read per call without it. Every method is called in the main
 * thread; none may throw.
 */
export interface WorkerInstrumentation {
  /** At `run()`: the caller's context (opaque), kept as the call's `parent`. */
  capture(): unknown;
  /** At the worker loop: the parent context of a delivery, from the trace context stored with it. */
  extract(task: TaskEnvelope): unknown;
  /**
   * The call is sent to a thread now (again, after a failed batch is split).
   * Returns the trace context the handler runs in, for the thread.
   */
  started(call: Call): TraceContextText | undefined;
  /** The call ended; counted by the dispatcher exactly as `stats()` counts it. */
  ended(call: Call, end: AttemptEnd): void;
  /** The call goes back to the queue to run again alone (its batch failed as a whole, or timed out on another call). */
  requeued(call: Call): void;
  /** `count` items of a `map()` of task `name` ended (completed, or one failing item for a chunk). */
  items(name: string, count: number, end: AttemptEnd): void;
  threadRestarted(reason: ThreadRestartReason): void;
  /** The worker loop's decision for a delivery, before it is published. */
  loopOutcome(task: TaskEnvelope, status: TaskOutcome['status']): void;
}
