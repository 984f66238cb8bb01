import type { TransferListItem } from 'node:worker_threads';
import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { abortedFailure, toRejection, type TaskFailure } from './boundary/task.failure.js';
import {
  NotInMainThreadError,
  QueueFullError,
  TaskAbortedError,
  UnknownTaskError,
  WorkerNotStartedError,
  WorkerShutdownError,
} from './errors/worker.errors.js';
import type { TaskDescriptor } from './interfaces/task-descriptor.interface.js';
import type { WorkerEvent, TaskSource } from './interfaces/worker-event.interface.js';
import type { WorkerStats } from './interfaces/worker-stats.interface.js';
import { Call } from './pool/call.record.js';
import type { ScheduleInfo } from './schedule/schedule-info.interface.js';
import { runMap, type MapOptions } from './pool/map.runner.js';
import { isPoolThread } from './thread/is-pool-thread.js';
import { WorkerOrchestrator, type WorkerEngine } from './worker.orchestrator.js';

export interface RunOptions {
  /** Cancels the task: dropped if still queued; if running, its thread is stopped and replaced. */
  signal?: AbortSignal;
  /** Time limit for this call, in ms. @default the task's `timeoutMs` */
  timeoutMs?: number;
  /** Objects to move to the thread instead of copying (ArrayBuffers, MessagePorts). */
  transfer?: TransferListItem[];
}

export type { MapOptions };

/**
 * The module's public face: runs tasks in the worker threads (`run`, `map`),
 * controls the worker loop (`start`, `pause`, `resume`), and reports what
 * happens (`events$`, `stats`, `tasks`). Starting and stopping with the
 * application is `WorkerOrchestrator`'s job.
 */
@Injectable()
export class WorkerManager {
  private runSeq = 0;

  /** Lifecycle events of tasks and threads. Nothing is built for them while nobody subscribes. */
  readonly events$: Observable<WorkerEvent>;

  constructor(private readonly orchestrator: WorkerOrchestrator) {
    this.events$ = orchestrator.sink.subject.asObservable();
  }

  /**
   * Runs task `name` in a worker thread and resolves with what the handler
   * returned. Waits for room when the queue is full (or rejects with
   * `QueueFullError` when `whenQueueFull: 'reject'`). One attempt: retries
   * belong to the worker loop.
   */
  run<R = unknown>(name: string, payload?: unknown, options: RunOptions = {}): Promise<R> {
    const engine = this.engineOrError('run');
    if (engine instanceof Error) return Promise.reject(engine);
    const { dispatcher, registry, options: settings } = engine;
    const definition = registry.get(name);
    if (!definition) return Promise.reject(new UnknownTaskError(name, registry.names()));
    if (this.orchestrator.isClosing) return Promise.reject(new WorkerShutdownError(name));
    if (options.signal?.aborted) return Promise.reject(new TaskAbortedError(name, { cause: options.signal.reason }));
    const id = `run-${(++this.runSeq).toString(36)}`;
    return new Promise<R>((resolve, reject) => {
      const call = new Call({
        name,
        payload,
        id,
        attempt: 1,
        timeoutMs: options.timeoutMs ?? definition.timeoutMs,
        batchable: definition.batch,
        source: 'run',
        signal: options.signal,
        transfer: options.transfer,
        // The caller's trace context, while it is active: the attempt's span is its child.
        parent: this.orchestrator.sink.instrumentation?.capture(),
        done: (result) =>
          result.ok ? resolve(result.value as R) : reject(this.rejection(name, id, 'run', result.failure)),
      });
      if (dispatcher.offer(call)) return;
      if (settings.whenQueueFull === 'reject') {
        reject(new QueueFullError(name, settings.queueSize));
        return;
      }
      // Parked until there is room; only its signal turns it away (the
      // shutdown settles it first).
      dispatcher.admit(call, options.signal).catch((reason: unknown) => {
        call.settle({ ok: false, failure: abortedFailure(name, reason) });
      });
    });
  }

  /**
   * Runs task `name` once per item, in chunks, and resolves with the results
   * in item order; rejects with the first failing item's error (its
   * `itemIndex` says which). Typed arrays are transferred, not copied.
   */
  map<R = unknown, T = unknown>(name: string, items: ArrayLike<T>, options: MapOptions = {}): Promise<R[]> {
    const engine = this.engineOrError('map');
    if (engine instanceof Error) return Promise.reject(engine);
    const { dispatcher, registry, options: settings } = engine;
    const definition = registry.get(name);
    if (!definition) return Promise.reject(new UnknownTaskError(name, registry.names()));
    if (this.orchestrator.isClosing) return Promise.reject(new WorkerShutdownError(name));
    if (items === null || typeof items !== 'object' || typeof items.length !== 'number') {
      return Promise.reject(new TypeError(`WorkerManager.map("${name}"): items must be an array or a typed array.`));
    }
    return runMap<R>(dispatcher, {
      name,
      items,
      timeoutMs: options.timeoutMs ?? definition.timeoutMs,
      threads: settings.workers,
      options,
      onFail: (failure, taskId) => this.emitFailed(name, taskId, 'map', failure),
    });
  }

  /**
   * The tasks the worker threads can run, each with where it is declared
   * and its options as declared (`timeoutMs`, `maxAttempts`, `schema`, ...).
   */
  tasks(): TaskDescriptor[] {
    return this.ready('tasks').registry.descriptors();
  }

  /**
   * The cron schedules this process runs (`@Task({ schedule })` and the
   * module's `schedules`), each with the next tick it will offer the store.
   */
  schedules(): ScheduleInfo[] {
    return this.ready('schedules').scheduler?.list() ?? [];
  }

  /**
   * Cancels task `id` of the task client: a waiting one never runs; a
   * running one has its `ctx.signal` aborted (reason: TaskCancelledError),
   * and its thread stopped and replaced `timeoutGraceMs` later if it still
   * runs, in whichever process runs it; its outcome is `cancelled`
   * (`task.cancelled` in `events$`). Uses the store's `cancel(id)` when the
   * client has one, and aborts a delivery this process holds at once, without
   * waiting for it. Resolves false when the task is unknown or already
   * finished (without a store `cancel`: when this process does not hold it).
   * For `run()` calls, use their `signal`.
   */
  cancel(id: string): Promise<boolean> {
    if (typeof id !== 'string' || id === '') {
      return Promise.reject(new TypeError(`WorkerManager.cancel(): the task id must be a non-empty string.`));
    }
    const engine = this.engineOrError('cancel');
    return engine instanceof Error ? Promise.reject(engine) : engine.loop.cancel(id);
  }

  /** Starts the worker loop when `loop.autoStart` is false. */
  start(): void {
    this.ready('start').loop.start();
  }

  /** Stops fetching new tasks from the client; queued and running tasks go on. */
  pause(): void {
    this.ready('pause').loop.pause();
  }

  resume(): void {
    this.ready('resume').loop.resume();
  }

  stats(): WorkerStats {
    const { dispatcher, pool, options, loop } = this.ready('stats');
    const now = dispatcher.snapshot();
    return {
      queued: now.queued,
      waiting: now.waiting,
      queueSize: options.queueSize,
      running: now.running,
      completed: now.completed,
      failed: now.failed,
      timedOut: now.timedOut,
      crashed: now.crashed,
      cancelled: loop.cancelledCount,
      batched: now.batched,
      workers: {
        size: pool.size,
        alive: pool.alive,
        utilization: now.utilization,
        bootFailures: pool.bootFailures ?? 0,
      },
      loop: loop.state,
    };
  }

  /**
   * Shuts the pool down, in the order that loses nothing (see
   * `WorkerOrchestrator`). Nest calls it on `app.close()`.
   */
  close(): Promise<void> {
    return this.orchestrator.close();
  }

  private ready(method: string): WorkerEngine {
    const engine = this.engineOrError(method);
    if (engine instanceof Error) throw engine;
    return engine;
  }

  /**
   * The engine, or why `method` cannot use it. The methods that return a
   * promise reject with it rather than throw: `run(...).catch()` and a
   * rejection handler see it, as they see every other failure of a call.
   */
  private engineOrError(method: string): WorkerEngine | NotInMainThreadError | WorkerNotStartedError {
    if (isPoolThread()) return new NotInMainThreadError(method);
    return this.orchestrator.engine ?? new WorkerNotStartedError(method);
  }

  private rejection(name: string, id: string, source: TaskSource, failure: TaskFailure): Error {
    this.emitFailed(name, id, source, failure);
    return toRejection(failure, { taskName: name, taskId: id });
  }

  private emitFailed(name: string, id: string, source: TaskSource, { reason, error }: TaskFailure): void {
    const sink = this.orchestrator.sink;
    if (!sink.enabled) return;
    sink.emit({ type: 'task.failed', taskId: id, name, attempt: 1, source, at: Date.now(), reason, error });
  }
}
