import type { TransferListItem } from 'node:worker_threads';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { TaskExplorer } from './discovery/task.explorer.js';
import { deserializeError, serializeError } from './errors/error-serializer.js';
import { Messages } from './errors/error-messages.js';
import {
  NotInMainThreadError,
  QueueFullError,
  TaskAbortedError,
  UnknownTaskError,
  WorkerBootError,
  WorkerNotStartedError,
  WorkerShutdownError,
} from './errors/worker.errors.js';
import type { TaskClient } from './interfaces/task-client.interface.js';
import type { WorkerEvent, TaskSource } from './interfaces/worker-event.interface.js';
import type { WorkerModuleOptions } from './interfaces/worker-module-options.interface.js';
import type { WorkerStats } from './interfaces/worker-stats.interface.js';
import { TaskLoop } from './loop/task-loop.js';
import type { ThreadTaskInfo } from './pool/dispatch-protocol.js';
import { EventSink } from './pool/event-sink.js';
import { runMap, type MapOptions } from './pool/map-runner.js';
import { Call, type CallResult, TaskDispatcher } from './pool/task-dispatcher.js';
import { ThreadPool } from './pool/thread-pool.js';
import { TaskRegistry } from './task-registry.js';
import { locateExport } from './tasks-module.locator.js';
import { isPoolThread } from './thread/is-pool-thread.js';
import { LOGGER_CONTEXT, TASK_CLIENT } from './worker.constants.js';
import { WORKER_MODULE_OPTIONS } from './worker.module-definition.js';
import { resolveWorkerOptions, type ResolvedWorkerOptions } from './worker-options.resolver.js';

export interface RunOptions {
  /** Cancels the task: dropped if still queued; if running, its thread is stopped and replaced. */
  signal?: AbortSignal;
  /** Time limit for this call, in ms. @default the task's `timeoutMs` */
  timeoutMs?: number;
  /** Objects to move to the thread instead of copying (ArrayBuffers, MessagePorts). */
  transfer?: TransferListItem[];
}

export type { MapOptions };

interface Started {
  options: ResolvedWorkerOptions;
  pool: ThreadPool;
  registry: TaskRegistry;
  dispatcher: TaskDispatcher;
  loop: TaskLoop;
}

/**
 * The module's public face: runs tasks in the worker threads (`run`, `map`),
 * owns the worker loop over the task client, and reports what happens
 * (`events$`, `stats`). Starts with the application and stops with it.
 */
@Injectable()
export class WorkerManager implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private readonly sink = new EventSink();
  private started?: Started;
  private closing?: Promise<void>;
  private runSeq = 0;

  /** Lifecycle events of tasks and threads. Nothing is built for them while nobody subscribes. */
  readonly events$: Observable<WorkerEvent> = this.sink.subject.asObservable();

  constructor(
    @Inject(WORKER_MODULE_OPTIONS) private readonly rawOptions: WorkerModuleOptions,
    @Inject(TASK_CLIENT) private readonly client: TaskClient,
    private readonly explorer: TaskExplorer,
  ) {}

  async onModuleInit(): Promise<void> {
    // Inside a pool thread the same module is booted to run tasks, not to
    // start another pool.
    if (isPoolThread()) return;
    // Discovery first: a duplicate or scoped task is a more precise error than a missing option.
    const discovered = this.explorer.explore();
    const options = resolveWorkerOptions(this.rawOptions);
    const ref = options.tasksModule;
    const tasksModule = ref
      ? await locateExport(ref.module, ref.file, ref.exportName, (url) =>
          Messages.tasksModuleNotExported(ref.module.name, url),
        )
      : undefined;
    const functions = await Promise.all(
      options.functions.map(async (fn) => ({
        name: fn.name,
        options: fn.options,
        ...(await locateExport(fn.handler, fn.file, fn.exportName, (url) =>
          Messages.functionNotExported(fn.name, url),
        )),
      })),
    );
    const pool = new ThreadPool(
      {
        workers: options.workers,
        resourceLimits: options.resourceLimits,
        execArgv: options.execArgv,
        env: options.env,
        startupTimeoutMs: options.startupTimeoutMs,
        maxTasksPerWorker: options.maxTasksPerWorker,
        maxHeapBytesPerWorker: options.maxHeapMbPerWorker * 1024 * 1024,
        thread: { tasksModule, functions, logLevels: ['log', 'error', 'warn', 'fatal'] },
      },
      this.logger,
      this.sink,
    );
    let reported: ThreadTaskInfo[];
    try {
      reported = await pool.start();
      const names = new Set(reported.map((t) => t.name));
      const missing = [...discovered.keys()].filter((name) => !names.has(name));
      if (missing.length > 0) {
        throw new WorkerBootError(
          Messages.tasksMissingInWorker(missing, tasksModule?.file ?? '-', tasksModule?.exportName ?? '-'),
        );
      }
      if (names.size === 0) throw new WorkerBootError(Messages.noTasks());
    } catch (error) {
      await pool.close(1000);
      throw error;
    }
    const registry = new TaskRegistry(reported, options);
    const dispatcher = new TaskDispatcher(
      pool,
      {
        queueSize: options.queueSize,
        maxInflight: options.workers,
        timeoutGraceMs: options.timeoutGraceMs,
        batching: options.batching,
      },
      this.sink,
    );
    const loop = new TaskLoop(
      this.client,
      dispatcher,
      registry,
      { ...options.loop, nonRetryable: options.retry.nonRetryable },
      this.sink,
      this.logger,
    );
    this.started = { options, pool, registry, dispatcher, loop };
    this.logger.log(
      `${options.workers} worker thread(s) ready with ${registry.names().length} task(s): ${registry.names().join(', ')}`,
    );
  }

  onApplicationBootstrap(): void {
    if (this.started?.options.loop.autoStart) this.started.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  /**
   * Runs task `name` in a worker thread and resolves with what the handler
   * returned. Waits for room when the queue is full (or rejects with
   * `QueueFullError` when `whenQueueFull: 'reject'`). One attempt: retries
   * belong to the worker loop.
   */
  run<R = unknown>(name: string, payload?: unknown, options: RunOptions = {}): Promise<R> {
    const { dispatcher, registry, options: settings } = this.ready('run');
    const definition = registry.get(name);
    if (!definition) return Promise.reject(new UnknownTaskError(name, registry.names()));
    if (this.closing) return Promise.reject(new WorkerShutdownError(name));
    if (options.signal?.aborted) return Promise.reject(new TaskAbortedError(name, { cause: options.signal.reason }));
    const id = `run-${(++this.runSeq).toString(36)}`;
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const call = new Call(
        name,
        payload,
        id,
        1,
        options.timeoutMs ?? definition.timeoutMs,
        definition.batch,
        'run',
        (result) => {
          if (settled) return;
          settled = true;
          if (result.ok) resolve(result.value as R);
          else reject(this.rejection(name, id, 'run', result));
        },
        options.signal,
        options.transfer,
      );
      if (dispatcher.offer(call)) return;
      if (settings.whenQueueFull === 'reject') {
        settled = true;
        reject(new QueueFullError(name, settings.queueSize));
        return;
      }
      dispatcher.admit(call, options.signal).catch((reason: unknown) => {
        call.done({
          ok: false,
          reason: 'aborted',
          error: serializeError(reason),
          local: new TaskAbortedError(name, { cause: reason }),
        });
      });
    });
  }

  /**
   * Runs task `name` once per item, in chunks, and resolves with the results
   * in item order; rejects with the first failing item's error (its
   * `itemIndex` says which). Typed arrays are transferred, not copied.
   */
  map<R = unknown, T = unknown>(name: string, items: ArrayLike<T>, options: MapOptions = {}): Promise<R[]> {
    const { dispatcher, registry, options: settings } = this.ready('map');
    const definition = registry.get(name);
    if (!definition) return Promise.reject(new UnknownTaskError(name, registry.names()));
    if (this.closing) return Promise.reject(new WorkerShutdownError(name));
    if (items === null || typeof items !== 'object' || typeof items.length !== 'number') {
      return Promise.reject(new TypeError(`WorkerManager.map("${name}"): items must be an array or a typed array.`));
    }
    const timeoutMs = options.timeoutMs ?? definition.timeoutMs;
    return runMap<R>(dispatcher, settings.workers, name, items, timeoutMs, options, (result, error) =>
      this.emitFailed(name, `map`, 'map', result, error),
    );
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
    return {
      queued: dispatcher.queue.length,
      waiting: dispatcher.queue.parkedCount,
      queueSize: options.queueSize,
      running: dispatcher.running,
      completed: dispatcher.completed,
      failed: dispatcher.failed,
      timedOut: dispatcher.timedOut,
      crashed: dispatcher.crashed,
      batched: dispatcher.batched,
      workers: { size: pool.size, alive: pool.alive, utilization: dispatcher.utilization(pool.size) },
      loop: loop.state,
    };
  }

  /**
   * Shutdown, in the order that loses nothing: stop fetching; hand queued
   * loop tasks back to the client; let running tasks (and queued `run()`
   * calls) finish until `shutdownTimeoutMs`; stop what is still running
   * (loop tasks are released, callers rejected); close every thread's Nest
   * context; publish every outcome. Called by Nest on `app.close()`.
   */
  close(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.closing ??= this.shutdown(this.started);
    return this.closing;
  }

  private async shutdown({ options, pool, dispatcher, loop }: Started): Promise<void> {
    const deadline = Date.now() + options.shutdownTimeoutMs;
    await loop.stopFetching();
    loop.releaseQueued();
    const idle = await dispatcher.whenIdle(deadline);
    if (!idle) {
      this.logger.warn(
        `${dispatcher.running} task(s) still running after ${options.shutdownTimeoutMs} ms (shutdownTimeoutMs); stopping their threads. Unfinished loop tasks are released to the task client.`,
      );
      dispatcher.stop();
    }
    // Closing the pool rejects whatever still runs, which settles it as 'shutdown'.
    await pool.close(idle ? 5000 : 1000);
    await dispatcher.whenIdle(Date.now() + 1000);
    const unpublished = await loop.flush(Math.max(deadline, Date.now() + 5000));
    if (unpublished > 0) {
      this.logger.error(
        `${unpublished} outcome(s) could not be published to the task client before shutdown. A durable client delivers those tasks again once their lease expires.`,
      );
    }
    this.sink.complete();
  }

  private ready(method: string): Started {
    if (isPoolThread()) throw new NotInMainThreadError(method);
    if (!this.started) throw new WorkerNotStartedError(method);
    return this.started;
  }

  private rejection(name: string, id: string, source: TaskSource, result: Extract<CallResult, { ok: false }>): Error {
    let error: Error;
    if (result.reason === 'aborted')
      error =
        result.local instanceof TaskAbortedError
          ? result.local
          : new TaskAbortedError(name, { cause: result.local ?? deserializeError(result.error) });
    else if (result.reason === 'shutdown') error = result.local ?? new WorkerShutdownError(name);
    else error = result.local ?? deserializeError(result.error);
    if (!result.local) {
      Object.defineProperty(error, 'taskName', { value: name, enumerable: false, configurable: true });
      Object.defineProperty(error, 'taskId', { value: id, enumerable: false, configurable: true });
    }
    this.emitFailed(name, id, source, result, error);
    return error;
  }

  private emitFailed(
    name: string,
    id: string,
    source: TaskSource,
    result: Extract<CallResult, { ok: false }>,
    error: Error,
  ): void {
    if (!this.sink.enabled) return;
    this.sink.emit({
      type: 'task.failed',
      taskId: id,
      name,
      attempt: 1,
      source,
      at: Date.now(),
      reason: result.reason,
      error: result.local ? serializeError(error) : result.error,
    });
  }
}
