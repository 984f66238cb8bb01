import { randomUUID } from 'node:crypto';
import type { TransferListItem } from 'node:worker_threads';
import type { LoggerService } from '@nestjs/common';
import type {
  DispatchReply,
  DispatchRequest,
  ThreadStatusMessage,
  ThreadTaskInfo,
} from '../boundary/dispatch.protocol.js';
import { findNestedLostClass } from '../boundary/class-instance.finder.js';
import { deserializeError } from '../boundary/error.serializer.js';
import { Messages } from '../errors/error-messages.js';
import { runAsInProcessTask } from '../thread/in-process.scope.js';
import type { LoadedHandlers } from '../thread/task-handlers.loader.js';
import { WorkerRuntime } from '../thread/worker.runtime.js';
import { ClassInstanceWarnings } from './class-instance.warnings.js';
import type { ManagedTaskPool } from './task-pool.factory.js';

export interface InProcessPoolSettings {
  /** Dispatches running at once: what the number of threads is to a thread pool. */
  concurrency: number;
  /** The handlers to run: the application's own, on its own provider instances. */
  load: () => LoadedHandlers;
}

/**
 * A pool without threads, for tests: the same `WorkerRuntime` a worker thread
 * runs answers each dispatch, here in the caller's process, on the
 * application's own providers (so mocks, spies and coverage see the calls).
 * What crosses the boundary is still cloned both ways, as `postMessage`
 * would: a payload or result that could not cross a thread fails here too,
 * and a class instance arrives as a plain object. A dispatch that is stopped
 * (timeout, abort, shutdown) is answered at once, as a stopped thread would
 * be, but its handler cannot be stopped: it runs on until it returns, its
 * result dropped (a handler that watches `ctx.signal` returns early).
 */
export class InProcessPool implements ManagedTaskPool {
  private readonly runtime: WorkerRuntime;
  private status?: ThreadStatusMessage;
  /** Executions whose dispatch was stopped but whose handler still runs: task name by execution. */
  private readonly abandoned = new Map<Promise<unknown>, string>();
  private closed = false;
  private readonly classInstances: ClassInstanceWarnings;
  /** Dispatches not answered yet. */
  private readonly running = new Set<RunningDispatch>();
  private progressListener?: (id: string, value: unknown) => void;

  constructor(
    private readonly settings: InProcessPoolSettings,
    private readonly logger: LoggerService,
  ) {
    this.classInstances = new ClassInstanceWarnings(logger);
    const id = randomUUID();
    this.runtime = new WorkerRuntime(
      { pool: id, channel: '', functions: [], reportHeap: false, logLevels: [] },
      {
        load: () => Promise.resolve().then(() => settings.load()),
        post: (message) => {
          // Cloned, as postMessage would: the listener must not share the handler's object.
          if (message.kind === 'progress') this.progressListener?.(message.id, structuredClone(message.v));
          else this.status ??= message;
        },
      },
    );
  }

  get size(): number {
    return this.settings.concurrency;
  }

  get alive(): number {
    return this.closed ? 0 : this.settings.concurrency;
  }

  async start(): Promise<ThreadTaskInfo[]> {
    await this.runtime.booted;
    const status = this.status;
    if (status?.kind === 'boot-failed') throw deserializeError(status.error);
    return status?.kind === 'ready' ? status.tasks : [];
  }

  run(request: DispatchRequest, signal?: AbortSignal, transfer?: TransferListItem[]): Promise<DispatchReply> {
    if (this.closed) return Promise.reject(new Error(Messages.inProcessPoolClosed()));
    if (signal?.aborted) return Promise.reject(stopped());
    this.inspectPayloads(request);
    let sent: DispatchRequest;
    try {
      // What postMessage does to the request: a DataCloneError for what cannot
      // cross, plain objects for class instances, transferred buffers detached
      // on this side. The progress cells are a SharedArrayBuffer: shared, as
      // with a thread, so the deadline watch reads them.
      sent = structuredClone(request, transfer?.length ? { transfer } : undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    const execution = runAsInProcessTask(() => this.runtime.execute(sent));
    return new Promise<DispatchReply>((resolve, reject) => {
      const run: RunningDispatch = {
        stop: (error) => {
          this.abandon(execution, request);
          reject(error);
        },
      };
      const onAbort = () => run.stop(stopped());
      this.running.add(run);
      signal?.addEventListener('abort', onAbort, { once: true });
      execution
        .then(cloneReply)
        .then(resolve, reject)
        .finally(() => {
          this.running.delete(run);
          signal?.removeEventListener('abort', onAbort);
        });
    });
  }

  afterReply(): void {
    // No thread to recycle.
  }

  cancelCalls(ids: readonly string[]): void {
    this.runtime.cancel(ids);
  }

  onProgress(listener: (id: string, value: unknown) => void): void {
    this.progressListener = listener;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // As piscina does when it is destroyed: what still runs is rejected.
    for (const run of this.running) run.stop(new Error('Terminating worker thread'));
    this.running.clear();
    if (this.abandoned.size > 0) {
      const names = [...new Set(this.abandoned.values())];
      this.logger.warn(Messages.inProcessStillRunning(this.abandoned.size, names));
    }
  }

  /**
   * Class instances below the payload's top level, which the dispatcher does
   * not look for (a walk per call): here, in tests, the walk is affordable.
   */
  private inspectPayloads({ n: names, p: payloads, o: offset }: DispatchRequest): void {
    if (ArrayBuffer.isView(payloads)) return;
    for (let i = 0; i < payloads.length; i++) {
      const root = offset === undefined ? 'payload' : `items[${offset + i}]`;
      const found = findNestedLostClass(payloads[i], root);
      if (found) this.classInstances.warn(typeof names === 'string' ? names : names[i]!, found.path, found.className);
    }
  }

  private abandon(execution: Promise<DispatchReply>, request: DispatchRequest): void {
    const name = typeof request.n === 'string' ? request.n : request.n.join(', ');
    this.abandoned.set(execution, name);
    const forget = () => this.abandoned.delete(execution);
    execution.then(forget, forget);
  }
}

interface RunningDispatch {
  /** Answers the dispatch with `error` now; its handler runs on, abandoned. */
  stop(error: Error): void;
}

/** What piscina rejects a task with when its signal aborts (the dispatcher knows why it aborted). */
function stopped(): Error {
  return Object.assign(new Error('The task has been aborted'), { name: 'AbortError' });
}

/**
 * The reply as `postMessage` would deliver it. A thread whose reply cannot be
 * cloned dies with an uncaught error (its calls fail as crashed); so does this
 * dispatch, and not with a DataCloneError, which would blame the payload.
 */
function cloneReply(reply: DispatchReply): DispatchReply {
  try {
    return structuredClone(reply);
  } catch (error) {
    throw new Error(Messages.inProcessReplyNotCloneable((error as Error)?.message ?? String(error)), { cause: error });
  }
}
