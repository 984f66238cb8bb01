import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { describeFunctionTask, type ThreadTaskInfo } from './boundary/dispatch.protocol.js';
import { InMemoryTaskClient } from './clients/in-memory.task-client.js';
import { TaskExplorer, type DiscoveredTask } from './discovery/task.explorer.js';
import { Messages } from './errors/error-messages.js';
import { WorkerBootError } from './errors/worker.errors.js';
import type { TaskClient } from './interfaces/task-client.interface.js';
import type { TaskDescriptor } from './interfaces/task-descriptor.interface.js';
import type { WorkerModuleOptions } from './interfaces/worker-module-options.interface.js';
import { PermitGate } from './loop/permit.gate.js';
import { TaskLoop } from './loop/task.loop.js';
import { unconfiguredModuleError } from './module-import.checker.js';
import { ClassInstanceWarnings } from './pool/class-instance.warnings.js';
import { EventSink } from './pool/event.sink.js';
import { TaskDispatcher } from './pool/task.dispatcher.js';
import { WORKER_POOL, type ManagedTaskPool, type TaskCode, type TaskPoolFactory } from './pool/task-pool.factory.js';
import { ThreadPool } from './pool/thread.pool.js';
import { collectSchedules } from './schedule/schedule.collector.js';
import { TaskScheduler } from './schedule/task.scheduler.js';
import { TaskRegistry } from './task.registry.js';
import { resolveModuleFile } from './tasks-file/module-file.resolver.js';
import { assertBootedByPoolThread } from './tasks-file/pool-thread.guard.js';
import { isPoolThread } from './thread/is-pool-thread.js';
import { LOGGER_CONTEXT, TASK_CLIENT } from './worker.constants.js';
import { WORKER_MODULE_OPTIONS } from './worker.module-definition.js';
import { resolveWorkerOptions, type ResolvedWorkerOptions } from './worker-options.resolver.js';

/** Everything that runs once the module has started. */
export interface WorkerEngine {
  readonly options: ResolvedWorkerOptions;
  readonly pool: ManagedTaskPool;
  readonly registry: TaskRegistry;
  readonly dispatcher: TaskDispatcher;
  readonly loop: TaskLoop;
  /** The application's cron schedules; undefined when it has none. */
  readonly scheduler?: TaskScheduler;
}

/**
 * Starts and stops the module with the application: checks the tasks,
 * starts the threads and waits for each to boot its context
 * (`onModuleInit`), starts the worker loop (`onApplicationBootstrap`), and
 * shuts everything down in the order that loses nothing (`onModuleDestroy`).
 * `WorkerManager` is the face users inject; this class is not exported.
 */
@Injectable()
export class WorkerOrchestrator implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  readonly sink = new EventSink();
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private started?: WorkerEngine;
  private closing?: Promise<void>;

  constructor(
    // Optional so that WorkerModule imported without forRoot() gets our error, not Nest's unresolved dependency.
    @Optional() @Inject(WORKER_MODULE_OPTIONS) private readonly rawOptions: WorkerModuleOptions,
    @Optional() @Inject(TASK_CLIENT) private readonly client: TaskClient,
    private readonly explorer: TaskExplorer,
    private readonly modules: ModulesContainer,
    @Inject(WORKER_POOL) private readonly poolFactory: TaskPoolFactory,
  ) {
    if (rawOptions === undefined) throw unconfiguredModuleError(modules);
  }

  /** The running engine; undefined before `onModuleInit()` and in pool threads. */
  get engine(): WorkerEngine | undefined {
    return this.started;
  }

  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  async onModuleInit(): Promise<void> {
    // Inside a pool thread the same module is booted to run tasks, not to
    // start another pool; unless the thread's runtime did not boot it at all
    // (the tasks file started the application again), which fails at once.
    if (isPoolThread()) {
      assertBootedByPoolThread([...this.modules.values()].map((module) => module.metatype));
      return;
    }
    // Discovery first: a duplicate or scoped task is a more precise error than a missing option.
    const discovered = this.explorer.explore();
    const options = resolveWorkerOptions(this.rawOptions);
    const { pool, code, description } = this.poolFactory.create({
      options,
      modules: this.modules,
      logger: this.logger,
      events: this.sink,
    });
    const reported = await startPool(pool, discovered, code.tasksModule);
    const registry = new TaskRegistry(reported, declaredTasks(discovered, code), options);
    const scheduler = await closeOnFailure(pool, () => this.jobControl(registry));
    const dispatcher = new TaskDispatcher(
      pool,
      {
        queueSize: options.queueSize,
        timeoutGraceMs: options.timeoutGraceMs,
        batching: options.batching,
        classInstances: process.env.NODE_ENV === 'production' ? undefined : new ClassInstanceWarnings(this.logger),
      },
      this.sink,
    );
    const loop = new TaskLoop(
      this.client,
      dispatcher,
      registry,
      { ...options.loop, nonRetryable: options.retry.nonRetryable, redact: options.redact },
      this.sink,
      this.logger,
    );
    this.started = { options, pool, registry, dispatcher, loop, scheduler };
    const names = registry.names();
    this.logger.log(`${description} ready with ${names.length} task(s): ${names.join(', ')}`);
  }

  onApplicationBootstrap(): void {
    if (this.started?.options.loop.autoStart) this.started.loop.start();
    // Schedules enqueue whether or not this process also works the queue (a producer-only app fires them too).
    this.started?.scheduler?.start();
  }

  /**
   * Schedules and task limits, checked before anything runs: a schedule that
   * cannot be read, or a limit or schedule the client cannot enforce, fails
   * the boot naming the task and the fix.
   */
  private jobControl(registry: TaskRegistry): TaskScheduler | undefined {
    PermitGate.create(this.client, registry.policies(), this.logger);
    const specs = collectSchedules(registry, this.rawOptions.schedules, this.client);
    return specs.length > 0 ? new TaskScheduler(specs, this.client as never, this.logger) : undefined;
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  /** Shuts down once; later calls share the first one's promise. */
  close(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.closing ??= this.shutdown(this.started);
    return this.closing;
  }

  private get inMemory(): boolean {
    return this.client instanceof InMemoryTaskClient;
  }

  /** What the in-memory queue still holds dies with the process: say how much, and what of it this shutdown handed back. */
  private reportLostInMemory(loop: TaskLoop): void {
    if (!(this.client instanceof InMemoryTaskClient)) return;
    const { queued, delayed } = this.client.counts();
    if (queued + delayed > 0) this.logger.warn(Messages.inMemoryLostAtExit(queued, delayed, loop.released));
  }

  /**
   * The order that loses nothing: stop fetching; hand queued loop tasks back
   * to the client; let running tasks (and queued `run()` calls) finish until
   * `shutdownTimeoutMs`; stop what still runs (loop tasks are released,
   * callers rejected with `WorkerShutdownError`); close every thread's Nest
   * context, then the threads; publish every outcome. The client's own
   * `onApplicationShutdown()` runs after this, with nothing left to publish.
   */
  private async shutdown({ options, pool, dispatcher, loop, scheduler }: WorkerEngine): Promise<void> {
    const deadline = Date.now() + options.shutdownTimeoutMs;
    // No tick is offered once shutdown began; a fire in flight has a second to land.
    await scheduler?.stop();
    await loop.stopFetching();
    loop.releaseQueued();
    const idle = await dispatcher.whenIdle(deadline);
    if (!idle) {
      const { stopped, unstarted } = dispatcher.stop(options.shutdownTimeoutMs);
      this.logger.warn(Messages.shutdownDeadline(options.shutdownTimeoutMs, stopped, unstarted, this.inMemory));
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
    this.reportLostInMemory(loop);
    this.sink.complete();
  }
}

/** The default pool: worker threads, each booting its own Nest context from the tasks module. */
export const threadPoolFactory: TaskPoolFactory = {
  create({ options, logger, events }) {
    const code = locateTaskCode(options);
    const pool = new ThreadPool(
      {
        workers: options.workers,
        resourceLimits: options.resourceLimits,
        execArgv: options.execArgv,
        env: options.env,
        startupTimeoutMs: options.startupTimeoutMs,
        maxTasksPerWorker: options.maxTasksPerWorker,
        maxHeapBytesPerWorker: options.maxHeapMbPerWorker * 1024 * 1024,
        thread: {
          tasksModule: code.tasksModule,
          functions: code.functions,
          logLevels: ['log', 'error', 'warn', 'fatal'],
        },
      },
      logger,
      events,
    );
    return { pool, code, description: `${options.workers} worker thread(s)` };
  },
};

/**
 * Where the threads will find the task code, checked now so that a wrong
 * path fails `app.init()` before a thread starts. Only resolved, never
 * imported here (see `resolveModuleFile`): the export is found by name in the
 * threads, and checked there against the class name.
 */
function locateTaskCode(options: ResolvedWorkerOptions): TaskCode {
  const ref = options.tasksModule;
  const tasksModule = ref && {
    file: resolveModuleFile('tasksModule.file', ref.file),
    exportName: ref.exportName ?? ref.module.name,
    moduleName: ref.module.name,
  };
  const functions = options.functions.map((fn, i) => ({
    name: fn.name,
    options: fn.options,
    file: resolveModuleFile(`functions[${i}].file`, fn.file),
    exportName: fn.exportName ?? (fn.handler.name || 'default'),
  }));
  return { tasksModule, functions };
}

/** Runs a bootstrap check after the threads started; closes them when it fails. */
async function closeOnFailure<T>(pool: ManagedTaskPool, check: () => T): Promise<T> {
  try {
    return check();
  } catch (error) {
    await pool.close(1000);
    throw error;
  }
}

/** Starts the threads and checks that they have every task the application declares; closes them on failure. */
async function startPool(
  pool: ManagedTaskPool,
  discovered: ReadonlyMap<string, DiscoveredTask>,
  tasksModule: TaskCode['tasksModule'],
): Promise<ThreadTaskInfo[]> {
  try {
    const reported = await pool.start();
    const names = new Set(reported.map((t) => t.name));
    const missing = [...discovered.keys()].filter((name) => !names.has(name));
    if (missing.length > 0) {
      throw new WorkerBootError(
        Messages.tasksMissingInWorker(missing, tasksModule?.file ?? '-', tasksModule?.exportName ?? '-'),
      );
    }
    if (names.size === 0) throw new WorkerBootError(Messages.noTasks());
    return reported;
  } catch (error) {
    await pool.close(1000);
    throw error;
  }
}

/** The tasks as the main thread declares them: `@Task()` methods it discovered, and the function tasks. */
function declaredTasks(discovered: ReadonlyMap<string, DiscoveredTask>, code: TaskCode): Map<string, TaskDescriptor> {
  const declared = new Map<string, TaskDescriptor>();
  for (const { name, declaredBy, options } of discovered.values()) declared.set(name, { name, declaredBy, options });
  for (const fn of code.functions) {
    declared.set(fn.name, { name: fn.name, declaredBy: describeFunctionTask(fn), options: { ...fn.options } });
  }
  return declared;
}
