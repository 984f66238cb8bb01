import { BroadcastChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { ResourceLimits, TransferListItem } from 'node:worker_threads';
import type { LoggerService } from '@nestjs/common';
import { Piscina } from 'piscina';
import { deserializeError } from '../boundary/error.serializer.js';
import { Messages } from '../errors/error-messages.js';
import { TasksModuleLoadError, WorkerBootError } from '../errors/worker.errors.js';
import { BUILD_ROOT } from '../internal/package-location.js';
import { THREAD_DATA_KEY } from '../worker.constants.js';
import type {
  DispatchReply,
  DispatchRequest,
  ThreadControlMessage,
  ThreadSettings,
  ThreadStatusMessage,
  ThreadTaskInfo,
} from '../boundary/dispatch.protocol.js';
import type { EventSink } from './event.sink.js';
import type { TaskPool } from './task-pool.interface.js';

export interface ThreadPoolSettings {
  workers: number;
  resourceLimits?: ResourceLimits;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  startupTimeoutMs: number;
  maxTasksPerWorker: number;
  maxHeapBytesPerWorker: number;
  thread: Omit<ThreadSettings, 'pool' | 'channel' | 'reportHeap'>;
}

/** What piscina tells a load balancer about a thread (live getters). */
interface PoolThread {
  readonly id: number;
  readonly currentUsage: number;
  readonly destroyed: boolean;
}

const ENTRY = fileURLToPath(new URL('thread/worker.entry.js', BUILD_ROOT));

/**
 * A piscina pool whose threads each boot the tasks module. Adds what piscina
 * leaves to its users: waiting for every thread's Nest context at start-up,
 * retiring threads after N tasks or past a heap size, and closing every
 * thread's context (so its shutdown hooks run) before the threads are stopped.
 */
export class ThreadPool implements TaskPool {
  private readonly id = randomUUID();
  private readonly channel = new BroadcastChannel(`nestjs-worker:${this.id}`);
  private readonly piscina: Piscina;
  private readonly threads = new Map<number, PoolThread>();
  /** Threads that get no new task and are closed as soon as they are idle. */
  private readonly retiring = new Set<number>();
  private readonly closeSent = new Set<number>();
  /** Threads whose Nest context has closed. */
  private readonly closed = new Set<number>();
  private onClosed?: () => void;
  private readonly bootListeners: Array<(message: ThreadStatusMessage) => void> = [];
  private bootFailed?: (error: Error) => void;
  private tasks?: ThreadTaskInfo[];
  private destroyed = false;
  private progressListener?: (id: string, value: unknown) => void;
  /** Replacement threads that could not boot (see onThreadMessage). */
  bootFailures = 0;

  constructor(
    private readonly settings: ThreadPoolSettings,
    private readonly logger: LoggerService,
    private readonly events: EventSink,
  ) {
    (this.channel as unknown as { unref(): void }).unref();
    const thread: ThreadSettings = {
      ...settings.thread,
      pool: this.id,
      channel: `nestjs-worker:${this.id}`,
      reportHeap: settings.maxHeapBytesPerWorker > 0,
    };
    this.piscina = new Piscina({
      filename: ENTRY,
      minThreads: settings.workers,
      maxThreads: settings.workers,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      // 'async' keeps an idle thread's event loop running: its providers'
      // timers and sockets keep working between tasks, and it can receive
      // the close message that runs its shutdown hooks.
      atomics: 'async',
      resourceLimits: settings.resourceLimits,
      execArgv: settings.execArgv,
      env: settings.env,
      workerData: { [THREAD_DATA_KEY]: thread },
      // Only idle threads that are not being retired get work. The dispatcher
      // never sends more dispatches than there are threads, so piscina's own
      // queue only fills while a replacement thread is starting.
      loadBalancer: (_task, workers) => {
        for (const worker of workers) {
          if (worker.currentUsage === 0 && !this.retiring.has(worker.id)) return worker;
        }
        return null;
      },
    });
    this.piscina.on('message', (message: ThreadStatusMessage) => this.onThreadMessage(message));
    this.piscina.on('workerCreate', (thread: PoolThread) => {
      this.threads.set(thread.id, thread);
      this.events.emit({ type: 'worker.started', threadId: thread.id, at: Date.now() });
    });
    this.piscina.on('workerDestroy', () => {
      // Which thread this is cannot be read from its id: that reads -1 only
      // once the thread has exited (it exited by itself), while a thread
      // piscina terminates (an aborted task, an uncaught error) still reads
      // its real id here. Piscina marks it destroyed before this event, and
      // the entry's getters are live, so that flag finds it either way.
      for (const [tid, thread] of this.threads) {
        if (!thread.destroyed) continue;
        this.threads.delete(tid);
        this.retiring.delete(tid);
        this.closeSent.delete(tid);
        if (!this.destroyed) this.events.emit({ type: 'worker.exited', threadId: tid, at: Date.now() });
      }
    });
    // A thread that dies while idle (an uncaught error from a stray timer) is
    // reported here; piscina has already started its replacement.
    this.piscina.on('error', (error: Error) => {
      // While booting, a thread that dies (its entry or the tasks module
      // failed to load) fails start() now rather than at startupTimeoutMs.
      if (this.bootFailed) {
        this.bootFailed(error);
        return;
      }
      this.logger.error(`A worker thread died while idle: ${error?.message ?? error}`, error?.stack);
      this.events.instrumentation?.threadRestarted('crash');
      this.events.emit({ type: 'worker.crashed', at: Date.now(), error: error?.message ?? String(error) });
    });
  }

  /** Threads the pool keeps running. */
  get size(): number {
    return this.settings.workers;
  }

  get alive(): number {
    return this.piscina.threads.length;
  }

  /** Waits until every thread has booted its context; returns the tasks they registered. */
  async start(): Promise<ThreadTaskInfo[]> {
    const total = this.settings.workers;
    const ready = new Set<number>();
    let timer: NodeJS.Timeout | undefined;
    let listener!: (message: ThreadStatusMessage) => void;
    try {
      return await new Promise<ThreadTaskInfo[]>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new WorkerBootError(Messages.startupTimeout(this.settings.startupTimeoutMs, ready.size, total))),
          this.settings.startupTimeoutMs,
        );
        this.bootFailed = (error) =>
          reject(new WorkerBootError(Messages.threadDiedAtBoot(error?.message ?? String(error)), { cause: error }));
        listener = (message) => {
          if (message.kind === 'boot-failed') {
            const cause = deserializeError(message.error);
            const module = this.settings.thread.tasksModule;
            // A file the thread could not load, or that lacks the export, is
            // the same mistake as a file the main thread could not find: the
            // same class, whichever side noticed it.
            const Boot = cause instanceof TasksModuleLoadError ? TasksModuleLoadError : WorkerBootError;
            reject(
              new Boot(
                Messages.workerBoot(module?.file ?? '(no tasks module)', module?.exportName ?? '-', cause.message),
                { cause },
              ),
            );
          } else if (message.kind === 'ready') {
            ready.add(message.tid);
            if (ready.size === total) resolve(message.tasks);
          }
        };
        this.bootListeners.push(listener);
      });
    } finally {
      clearTimeout(timer);
      this.bootFailed = undefined;
      this.bootListeners.splice(this.bootListeners.indexOf(listener), 1);
    }
  }

  run(request: DispatchRequest, signal?: AbortSignal, transferList?: TransferListItem[]): Promise<DispatchReply> {
    return signal || transferList
      ? this.piscina.run(request, { signal, transferList: transferList as never })
      : this.piscina.run(request);
  }

  /** Applies the recycling rules to the thread that sent `reply`. */
  afterReply(reply: DispatchReply): void {
    const { maxTasksPerWorker, maxHeapBytesPerWorker } = this.settings;
    if (
      (maxTasksPerWorker > 0 && reply.c >= maxTasksPerWorker) ||
      (maxHeapBytesPerWorker > 0 && reply.h > maxHeapBytesPerWorker)
    ) {
      if (!this.retiring.has(reply.tid)) {
        this.retiring.add(reply.tid);
        this.events.instrumentation?.threadRestarted('recycled');
        this.events.emit({
          type: 'worker.recycled',
          threadId: reply.tid,
          at: Date.now(),
          reason:
            maxTasksPerWorker > 0 && reply.c >= maxTasksPerWorker
              ? `ran ${reply.c} tasks`
              : `heap ${Math.round(reply.h / 1048576)} MiB`,
        });
      }
    }
    if (this.retiring.size > 0) this.closeIdleRetiring();
  }

  cancelCalls(ids: readonly string[]): void {
    if (!this.destroyed) this.channel.postMessage({ kind: 'cancel', ids: [...ids] } satisfies ThreadControlMessage);
  }

  onProgress(listener: (id: string, value: unknown) => void): void {
    this.progressListener = listener;
  }

  /**
   * Closes every thread's Nest context (their `onModuleDestroy` /
   * `onApplicationShutdown` hooks run), then stops the threads. Threads that
   * do not answer within `timeoutMs` are stopped anyway.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.destroyed) return;
    const deadline = Date.now() + timeoutMs;
    // Repeated until every live thread has answered: a thread that is still
    // starting (a replacement) had no channel open when the first one went out.
    for (;;) {
      const live = this.piscina.threads.map((w) => w.threadId).filter((tid) => tid >= 0);
      if (live.every((tid) => this.closed.has(tid))) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        this.logger.warn(`Worker thread contexts did not close within ${timeoutMs} ms; stopping the threads.`);
        break;
      }
      this.channel.postMessage({ kind: 'close' } satisfies ThreadControlMessage);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(100, left));
        this.onClosed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.onClosed = undefined;
    }
    this.destroyed = true;
    await this.piscina.destroy();
    this.channel.close();
  }

  private closeIdleRetiring(): void {
    for (const tid of this.retiring) {
      const thread = this.threads.get(tid);
      if (!thread || thread.currentUsage !== 0 || this.closeSent.has(tid)) continue;
      this.closeSent.add(tid);
      // The thread closes its context and exits; piscina starts a fresh one.
      this.channel.postMessage({ kind: 'close', tid, exit: true } satisfies ThreadControlMessage);
    }
  }

  private onThreadMessage(message: ThreadStatusMessage): void {
    if (!message || message.pool !== this.id) return;
    if (message.kind === 'progress') {
      this.progressListener?.(message.id, message.v);
      return;
    }
    for (const listener of [...this.bootListeners]) listener(message);
    if (message.kind === 'closed') {
      this.closed.add(message.tid);
      this.onClosed?.();
    } else if (message.kind === 'ready') {
      this.tasks ??= message.tasks;
    } else if (message.kind === 'boot-failed' && this.bootListeners.length === 0) {
      // A replacement thread failed to boot (a database down, say). Its calls
      // fail with reason 'boot' and are retried; retire it after a pause so
      // that a lasting failure does not spin threads up in a tight loop.
      this.logger.error(`Worker thread ${message.tid} could not boot: ${message.error.message}`, message.error.stack);
      this.bootFailures++;
      this.events.instrumentation?.threadRestarted('boot-failed');
      setTimeout(() => {
        // The pool may have closed meanwhile (its channel with it).
        if (this.destroyed) return;
        this.retiring.add(message.tid);
        this.closeIdleRetiring();
      }, 1000).unref();
    }
  }
}
