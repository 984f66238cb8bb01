import type { ResourceLimits } from 'node:worker_threads';
import type { Type } from '@nestjs/common';
import type { RedactErrorHook } from './error-redaction.interface.js';
import type { TaskSchedule } from './task-options.interface.js';

/** A module class, and the file that exports it, for the worker threads to boot. */
export interface TasksModuleRef {
  /**
   * The module whose providers declare `@Task()` methods. Each worker thread
   * boots its own Nest application context from it, once.
   */
  module: Type<unknown>;
  /**
   * The file that exports `module`, as the compiled file:
   * `new URL('./x.tasks.js', import.meta.url)` in an ES module,
   * `join(__dirname, 'x.tasks.js')` in CommonJS. Where it does not exist but
   * its TypeScript source does (the app runs from sources: Jest, Vitest,
   * ts-node, swc-node, tsx), the threads load and compile the source with the
   * app's `@swc/core` or `typescript`.
   */
  file: string | URL;
  /**
   * Name of the export. The threads check that it holds a class of the
   * module's name (they load their own copy of the file).
   * @default the module class's name
   */
  exportName?: string;
}

/** A plain function task, for those who want no dependency injection. */
export interface FunctionTaskRef {
  /** Task name, as used by `run()` and the task client. */
  name: string;
  /** The function; receives `(payload, ctx)` like a `@Task()` method. */
  handler: (payload: any, ctx: any) => unknown;
  /** The file that exports `handler`, named like `tasksModule.file`. */
  file: string | URL;
  /** Name of the export. @default the function's name */
  exportName?: string;
  /** Same options as `@Task()`; functions in them (`retryIf`, `schema`) are not supported here. */
  options?: {
    timeoutMs?: number;
    maxAttempts?: number;
    batch?: boolean;
  };
}

/** Exponential backoff with jitter between attempts. */
export interface RetryBackoffOptions {
  /** Delay before the second attempt, in milliseconds. @default 1000 */
  initialMs: number;
  /** Multiplier per further attempt. @default 2 */
  factor: number;
  /** Upper bound of one delay, in milliseconds. @default 300000 (5 minutes) */
  maxMs: number;
  /**
   * `'full'`: a uniform random delay in [0, computed]; `'equal'`: half fixed,
   * half random; `'none'`: exactly the computed delay.
   * @default 'full'
   */
  jitter: 'full' | 'equal' | 'none';
}

export interface RetryOptions {
  /** Attempts per task, the first included. @default 3 */
  maxAttempts?: number;
  backoff?: Partial<RetryBackoffOptions>;
  /**
   * Error names or codes that are never retried, checked in the main thread.
   * `NonRetryableError` and errors with `retryable: false` are never retried either.
   * @default []
   */
  nonRetryable?: ReadonlyArray<string | number>;
}

/** The worker loop: how tasks are pulled from the task client and outcomes pushed back. */
export interface WorkerLoopOptions {
  /**
   * Start pulling tasks at application bootstrap. When `false`, call
   * `WorkerManager.start()` yourself.
   * @default true
   */
  autoStart?: boolean;
  /** Most tasks asked for in one `fetch()`. @default 256 */
  fetchBatchSize?: number;
  /** First sleep after an empty fetch, in milliseconds; doubles up to `idleMaxMs`. @default 5 */
  idleMinMs?: number;
  /** Longest sleep between fetches of an empty source, in milliseconds. @default 1000 */
  idleMaxMs?: number;
  /** Most outcomes per `publish()` call. @default 500 */
  publishBatchSize?: number;
  /** Longest time an outcome waits to be batched with others, in milliseconds. @default 5 */
  publishIntervalMs?: number;
}

/** How several short queued tasks share one message to a thread. */
export interface BatchingOptions {
  /** @default true */
  enabled?: boolean;
  /** Most tasks in one message. @default 64 */
  maxBatchSize?: number;
  /**
   * Tasks measured slower than this (per task, in milliseconds) always go one
   * at a time; a batch's measured tasks add up to about this much work.
   * @default 2
   */
  targetBatchMs?: number;
}

export interface WorkerModuleOptions {
  /** The module the worker threads boot, with the file that exports it. */
  tasksModule?: TasksModuleRef;
  /** Plain function tasks, loaded by file in every thread. @default [] */
  functions?: ReadonlyArray<FunctionTaskRef>;
  /** Worker threads in the pool. @default os.availableParallelism() */
  workers?: number;
  /** Capacity of the bounded queue in front of the pool. @default 1024 */
  queueSize?: number;
  /**
   * What `run()` / `map()` do when the queue is full: `'wait'` for room, or
   * `'reject'` at once with `QueueFullError`.
   * @default 'wait'
   */
  whenQueueFull?: 'wait' | 'reject';
  /** Default hard time limit per task attempt in milliseconds; 0 for none. @default 0 */
  defaultTimeoutMs?: number;
  /**
   * Time between `ctx.signal` aborting at a timeout and the thread being
   * stopped, in milliseconds.
   * @default 100
   */
  timeoutGraceMs?: number;
  /** Retries (worker loop only). */
  retry?: RetryOptions;
  /**
   * Rewrites a task's error before it leaves the process: called for every
   * failed attempt of a worker-loop task, before the outcome goes to the
   * task client (which stores it: a row's `errors`, a dead letter), before
   * the loop logs it, and before `task.retrying` / `task.failed` events carry
   * it. Return the error as it may be kept — e.g. without a token in its
   * message or a customer's data in `props`. A hook that throws, or returns
   * no error, gets the error replaced by a notice, never kept as it was.
   * `run()` / `map()` rejections go to their caller unchanged.
   * @default undefined (errors are stored as thrown, bounded in size)
   */
  redact?: RedactErrorHook;
  /** Replace a thread after it has run this many tasks; 0 never. @default 0 */
  maxTasksPerWorker?: number;
  /**
   * Replace a thread, between tasks, once its V8 heap passes this many MiB;
   * 0 never. (A hard limit is `resourceLimits.maxOldGenerationSizeMb`.)
   * @default 0
   */
  maxHeapMbPerWorker?: number;
  /** Node's hard memory limits per thread; a thread that passes them dies and is replaced. */
  resourceLimits?: ResourceLimits;
  /**
   * `execArgv` of the threads. A TypeScript loader given here (or inherited)
   * takes precedence over the threads' own TypeScript support.
   * @default the parent's execArgv
   */
  execArgv?: string[];
  /** Environment of the threads. @default process.env, shared */
  env?: NodeJS.ProcessEnv;
  /** Longest wait for every thread to boot its Nest context, in milliseconds. @default 30000 */
  startupTimeoutMs?: number;
  /**
   * On shutdown, how long in-flight tasks may run before their threads are
   * stopped (unfinished loop tasks are then released to the client), in milliseconds.
   * @default 10000
   */
  shutdownTimeoutMs?: number;
  /** Batching of short tasks. */
  batching?: BatchingOptions;
  /** The worker loop over the task client. */
  loop?: WorkerLoopOptions;
  /**
   * Cron schedules besides `@Task({ schedule })`: each fire enqueues the
   * named task on the task client, once per tick across every process that
   * shares its store. Needs a client with `fireSchedule` (all built-in ones).
   * @default []
   */
  schedules?: ReadonlyArray<TaskSchedule & { task: string }>;
}
