/**
 * Messages between the main thread and the worker threads. Field names of
 * requests and replies are short on purpose: every byte is cloned once per
 * dispatch, and a dispatch may carry one no-op task.
 */
import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type { TaskFailureReason } from '../interfaces/task-client.interface.js';
import type { TaskOptions } from '../interfaces/task-options.interface.js';
import type { RetryBackoffOptions } from '../interfaces/worker-module-options.interface.js';
import type { TaskFailure } from './task.failure.js';

/** One message to a thread: one task, a batch of tasks, or a chunk of a `map()`. */
export interface DispatchRequest {
  /** Task name of every call, or one per call. */
  n: string | string[];
  /** Payloads, one per call (a typed array for a typed `map()` chunk). */
  p: ArrayLike<unknown>;
  /** Task ids per call, or one prefix from which `${prefix}:${index}` ids are made (`map()`). */
  i: string[] | string;
  /** Index of the first item (`map()` chunks), so ids and errors name the item. */
  o?: number;
  /** Attempt per call (1 when absent). */
  a?: number[];
  /** Timeout per call in ms, or one for all; drives `ctx.signal`. */
  to?: number[] | number;
  /**
   * Progress cells over a SharedArrayBuffer, written by the thread before each
   * call: [1] = ms since `b` when the call started, then [0] = its index.
   * Lets the main thread time each call of a batch without a message per call.
   */
  pr?: Int32Array;
  /** Epoch ms that `pr[1]` counts from. */
  b?: number;
  /** Stop at the first failing call (`map()` fails fast, like `Pool.map`). */
  s?: boolean;
  /**
   * Trace context per call (W3C `traceparent`, see TraceContextText): the
   * handler runs inside it, so the spans it opens in the thread are children
   * of its attempt's span in the main thread. Only sent while telemetry is on.
   */
  tc?: Array<string | undefined>;
}

/** Why a call can fail inside a thread (the thread never sees its own crash, an abort or a shutdown). */
export type ThreadFailureReason = Extract<
  TaskFailureReason,
  'error' | 'timeout' | 'unknown-task' | 'invalid-payload' | 'invalid-result' | 'boot'
>;

/** A call that did not complete, as the thread saw it: the same value the caller's rejection is built from. */
export type ThreadFailure = TaskFailure<ThreadFailureReason>;

export interface DispatchReply {
  /** Return values, by call index (`undefined` where the call failed). */
  v: unknown[];
  /** Failures by call index; absent when every call completed. */
  f?: Record<number, ThreadFailure>;
  /** Run time of each call in ms (absent for `map()` chunks). */
  d?: number[];
  /** Run time of the whole dispatch inside the thread, ms. */
  t: number;
  /** `threadId` of the thread that ran it. */
  tid: number;
  /** V8 heap used by that thread after the dispatch, bytes. */
  h: number;
  /** Tasks that thread has run so far. */
  c: number;
  /**
   * The latest `ctx.progress()` value of each call that reported any, by call
   * index, sent or not: the messages on the side channel may arrive after
   * this reply, so the last word travels with it. Absent when none did.
   */
  g?: Record<number, unknown>;
}

/** A task as the threads report it at boot: everything the main thread needs to schedule it. */
export interface ThreadTaskInfo {
  name: string;
  declaredBy: string;
  timeoutMs?: number;
  maxAttempts?: number;
  batch?: boolean;
  backoff?: Partial<RetryBackoffOptions>;
  /** `@Task({ rateLimit, concurrencyPerKey, schedule })`: the main thread enforces them, also for tasks only the threads declare. */
  rateLimit?: TaskOptions['rateLimit'];
  concurrencyPerKey?: number;
  schedule?: TaskOptions['schedule'];
}

/** Messages a thread posts to the pool (`parentPort`, surfaced as the pool's 'message' event). */
export type ThreadStatusMessage =
  | { kind: 'ready'; pool: string; tid: number; tasks: ThreadTaskInfo[] }
  | { kind: 'boot-failed'; pool: string; tid: number; error: SerializedTaskError }
  | { kind: 'closed'; pool: string; tid: number }
  /** `ctx.progress(value)` of the call with id `id`, throttled in the thread (see ProgressThrottle). */
  | { kind: 'progress'; pool: string; id: string; v: unknown };

/** Messages the pool broadcasts to its threads. */
export type ThreadControlMessage =
  | {
      kind: 'close';
      /** Only this thread (recycling); every thread when absent (shutdown). */
      tid?: number;
      /** Exit the thread once closed (recycling: the pool starts a fresh one). */
      exit?: boolean;
    }
  /**
   * Abort the `ctx.signal` of the calls with these ids (`cancel(id)`). Sent
   * to every thread: the main thread does not know which one runs a call.
   */
  | { kind: 'cancel'; ids: string[] };

/** What the pool hands each thread through `workerData`. */
export interface ThreadSettings {
  /** Id of the pool, to tell its messages from any other pool's. */
  pool: string;
  /** BroadcastChannel name for control messages. */
  channel: string;
  /** The file as an absolute path; the export is checked against `moduleName` (the class cannot cross). */
  tasksModule?: { file: string; exportName: string; moduleName: string };
  functions: Array<{
    name: string;
    file: string;
    exportName: string;
    options?: { timeoutMs?: number; maxAttempts?: number; batch?: boolean };
  }>;
  /** Report the V8 heap in every reply (only when `maxHeapMbPerWorker` is set: it costs a call). */
  reportHeap: boolean;
  /** Log levels of the thread's Nest logger. */
  logLevels: string[];
}

/** How a function task is named in messages and listings: the same words on both sides of the boundary. */
export function describeFunctionTask(ref: { readonly file: string; readonly exportName: string }): string {
  return `function ${ref.exportName} (${ref.file})`;
}
