import type { SerializedTaskError } from './serialized-error.interface.js';
import type { TaskFailureReason } from './task-client.interface.js';

/** Where a task came from: the task client (worker loop), `run()` or `map()`. */
export type TaskSource = 'client' | 'run' | 'map';

interface TaskEventBase {
  readonly taskId: string;
  readonly name: string;
  readonly attempt: number;
  readonly source: TaskSource;
  /** Epoch milliseconds. */
  readonly at: number;
}

/** The worker loop received the task from the task client. */
export interface TaskFetchedEvent extends TaskEventBase {
  readonly type: 'task.fetched';
}
/** The task was sent to a thread. */
export interface TaskStartedEvent extends TaskEventBase {
  readonly type: 'task.started';
  /** Time spent in the queue, ms. */
  readonly queuedMs: number;
}
export interface TaskCompletedEvent extends TaskEventBase {
  readonly type: 'task.completed';
  readonly durationMs: number;
  readonly threadId: number;
}
/** The task ran past its timeout; its thread is being stopped. */
export interface TaskTimedOutEvent extends TaskEventBase {
  readonly type: 'task.timed-out';
  readonly timeoutMs: number;
}
/** The attempt failed and another is scheduled. */
export interface TaskRetryingEvent extends TaskEventBase {
  readonly type: 'task.retrying';
  readonly reason: TaskFailureReason;
  readonly error: SerializedTaskError;
  readonly nextAttempt: number;
  readonly delayMs: number;
}
/** The task failed for good (dead letter, or the rejection of `run()` / `map()`). */
export interface TaskFailedEvent extends TaskEventBase {
  readonly type: 'task.failed';
  readonly reason: TaskFailureReason | 'aborted' | 'shutdown';
  readonly error: SerializedTaskError;
}
/**
 * The task was handed back to the task client unfinished, at shutdown (or
 * fetched while pausing). A durable client delivers it again; the in-memory
 * client puts it back in its queue, which is lost when the process exits.
 */
export interface TaskReleasedEvent extends TaskEventBase {
  readonly type: 'task.released';
  /**
   * `false`: it had not started (still queued here when shutdown began).
   * `true`: it was running and was stopped at the shutdown deadline
   * (`shutdownTimeoutMs`), its thread with it; the attempt did not complete.
   */
  readonly started: boolean;
}
/**
 * The task client reported this delivery's lease lost: its lease ran out
 * (the process stalled) and another consumer has the task now. One that had
 * not started is dropped here; one that had keeps running, and its outcome
 * will be ignored by the client.
 */
export interface TaskLeaseLostEvent extends TaskEventBase {
  readonly type: 'task.lease-lost';
  /** It had reached a thread here (or finished, its outcome not yet published). */
  readonly started: boolean;
}

/** The task was cancelled while this process held it: dropped before it started, or aborted while running. */
export interface TaskCancelledEvent extends TaskEventBase {
  readonly type: 'task.cancelled';
  readonly started: boolean;
}
/** The handler reported progress (`ctx.progress(value)`), throttled. */
export interface TaskProgressEvent extends TaskEventBase {
  readonly type: 'task.progress';
  readonly value: unknown;
}

interface WorkerEventBase {
  readonly at: number;
}
export interface WorkerStartedEvent extends WorkerEventBase {
  readonly type: 'worker.started';
  readonly threadId: number;
}
export interface WorkerExitedEvent extends WorkerEventBase {
  readonly type: 'worker.exited';
  readonly threadId: number;
}
/** A thread died (a task crashed it, or it failed while idle); it is replaced. */
export interface WorkerCrashedEvent extends WorkerEventBase {
  readonly type: 'worker.crashed';
  readonly error: string;
  readonly taskId?: string;
  readonly name?: string;
}
/** A thread is being replaced by the recycling rules. */
export interface WorkerRecycledEvent extends WorkerEventBase {
  readonly type: 'worker.recycled';
  readonly threadId: number;
  readonly reason: string;
}

export type WorkerEvent =
  | TaskFetchedEvent
  | TaskStartedEvent
  | TaskCompletedEvent
  | TaskTimedOutEvent
  | TaskRetryingEvent
  | TaskFailedEvent
  | TaskReleasedEvent
  | TaskLeaseLostEvent
  | TaskCancelledEvent
  | TaskProgressEvent
  | WorkerStartedEvent
  | WorkerExitedEvent
  | WorkerCrashedEvent
  | WorkerRecycledEvent;
