import { threadId, parentPort } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { findUncloneable } from '../boundary/cloneability.checker.js';
import type {
  DispatchReply,
  DispatchRequest,
  ThreadFailure,
  ThreadSettings,
  ThreadStatusMessage,
} from '../boundary/dispatch.protocol.js';
import { serializeError } from '../boundary/error.serializer.js';
import { traceContextHooks } from '../common/trace-context.hooks.js';
import { taskFailure } from '../boundary/task.failure.js';
import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import { jsonProblem } from '../boundary/json-value.checker.js';
import { Messages } from '../errors/error-messages.js';
import {
  InvalidPayloadError,
  NotCloneableError,
  TaskCancelledError,
  TaskTimeoutError,
  UnknownTaskError,
} from '../errors/worker.errors.js';
import { LOGGER_CONTEXT } from '../worker.constants.js';
import { CallContext, type ProgressSink } from './call.context.js';
import { loadTaskHandlers, type LoadedHandlers, type TaskHandler } from './task-handlers.loader.js';

/**
 * Where a runtime gets its handlers and tells its pool how booting went. A
 * worker thread loads the tasks file and posts to piscina; an in-process
 * pool (nestjs-worker/testing) hands over the app's own handlers.
 */
export interface RuntimeHost {
  load(settings: ThreadSettings, onRebootstrap: (error: Error) => void): Promise<LoadedHandlers>;
  post(message: ThreadStatusMessage): void;
}

const WORKER_THREAD: RuntimeHost = {
  load: loadTaskHandlers,
  post: (message) => parentPort?.postMessage(message),
};

/** How long a cancel for a call this thread has not started is remembered (it may be in transit to it). */
const EARLY_CANCEL_MS = 60_000;

/**
 * Everything a worker thread does: boot its own Nest context from the tasks
 * module (once), hold the task registry, and run dispatches.
 */
export class WorkerRuntime implements ProgressSink {
  private readonly tasks = new Map<string, TaskHandler>();
  private app?: INestApplicationContext;
  private bootError?: SerializedTaskError;
  private tasksRun = 0;
  private closing?: Promise<void>;
  /**
   * The call each dispatch is on: one slot per dispatch, written once per
   * call, for a cancel to find the call it names. A thread runs one dispatch
   * at a time; an in-process pool runs several on one runtime.
   */
  private readonly active = new Set<{ ctx?: CallContext }>();
  /** Cancels of calls not running here (yet): the call may still be on its way. Id → expiry. */
  private earlyCancels?: Map<string, number>;
  /** Task names whose non-JSON progress was reported already. */
  private badProgress?: Set<string>;
  readonly booted: Promise<void>;

  constructor(
    private readonly settings: ThreadSettings,
    private readonly host: RuntimeHost = WORKER_THREAD,
  ) {
    this.booted = this.boot();
  }

  private async boot(): Promise<void> {
    try {
      const { app, handlers } = await this.host.load(this.settings, (error) => this.failBoot(error));
      this.app = app;
      for (const [name, handler] of handlers) this.tasks.set(name, handler);
      this.post({
        kind: 'ready',
        pool: this.settings.pool,
        tid: threadId,
        tasks: [...this.tasks.values()].map((t) => t.info),
      });
    } catch (error) {
      this.failBoot(error);
    }
  }

  /** The first boot failure is the one the main thread hears about (and every call fails with). */
  private failBoot(error: unknown): void {
    if (this.bootError) return;
    this.bootError = serializeError(error);
    this.post({ kind: 'boot-failed', pool: this.settings.pool, tid: threadId, error: this.bootError });
  }

  async execute(req: DispatchRequest): Promise<DispatchReply> {
    await this.booted;
    const started = performance.now();
    const { n: names, p: payloads, pr: progress, b: base = 0, s: stopOnError } = req;
    const count = payloads.length;
    const values: unknown[] = new Array(count);
    const durations: number[] | undefined = typeof req.i === 'string' ? undefined : new Array(count);
    let failures: Record<number, ThreadFailure> | undefined;
    let lastProgress: Record<number, unknown> | undefined;
    let executed = 0;
    const slot: { ctx?: CallContext } = {};
    this.active.add(slot);

    for (let index = 0; index < count; index++) {
      if (progress) {
        // Start time first, index second: the main thread reads them in the
        // opposite order, so it never pairs an index with an older start.
        Atomics.store(progress, 1, Date.now() - base);
        Atomics.store(progress, 0, index);
      }
      const callStart = performance.now();
      const name = typeof names === 'string' ? names : names[index]!;
      slot.ctx = undefined;
      let failure = this.call(req, index, name, payloads[index], values, callStart, slot);
      if (failure instanceof Promise) failure = await failure;
      executed++;
      // The last word on progress travels with the reply (see DispatchReply.g).
      const ran = slot.ctx as CallContext | undefined;
      if (ran?.progressed) {
        const latest = ran.latestProgress;
        const problem = jsonProblem(latest);
        if (problem === undefined) (lastProgress ??= {})[index] = latest;
        else this.warnProgress(ran.name, problem);
      }
      if (durations) durations[index] = performance.now() - callStart;
      if (failure) {
        (failures ??= {})[index] = failure;
        if (stopOnError) break;
      }
    }
    this.active.delete(slot);
    this.tasksRun += executed;
    const reply: DispatchReply = {
      v: values,
      t: performance.now() - started,
      tid: threadId,
      h: this.settings.reportHeap ? getHeapStatistics().used_heap_size : 0,
      c: this.tasksRun,
    };
    if (failures) reply.f = failures;
    if (durations) reply.d = durations;
    if (lastProgress) reply.g = lastProgress;
    return reply;
  }

  /**
   * Aborts the `ctx.signal` of the calls with these ids, with a
   * TaskCancelledError: at once for the one running here; one that has not
   * started here yet (its dispatch in transit, or another thread's) is
   * remembered for a while and does not run if it comes.
   */
  cancel(ids: readonly string[]): void {
    const now = Date.now();
    if (this.earlyCancels) for (const [id, until] of this.earlyCancels) if (until < now) this.earlyCancels.delete(id);
    for (const id of ids) {
      let found = false;
      for (const { ctx } of this.active) {
        if (ctx?.id !== id) continue;
        ctx.cancel(new TaskCancelledError(ctx.name, id));
        found = true;
      }
      if (!found) (this.earlyCancels ??= new Map()).set(id, now + EARLY_CANCEL_MS);
    }
  }

  /** A call's throttled progress: JSON data goes to the main thread; anything else is dropped, said once per task. */
  sendProgress(ctx: CallContext, value: unknown): void {
    const problem = jsonProblem(value);
    if (problem === undefined) {
      try {
        this.post({ kind: 'progress', pool: this.settings.pool, id: ctx.id, v: value });
        return;
      } catch (error) {
        // JSON data clones; a getter that throws on the way is the one exception.
        this.warnProgress(ctx.name, `a value that cannot be sent (${(error as Error)?.message ?? String(error)})`);
        return;
      }
    }
    this.warnProgress(ctx.name, problem);
  }

  private warnProgress(name: string, problem: string): void {
    if ((this.badProgress ??= new Set()).has(name)) return;
    this.badProgress.add(name);
    new Logger(LOGGER_CONTEXT).warn(Messages.progressNotJson(name, problem));
  }

  /**
   * Runs one call; stores its value in `values` or returns why it failed.
   * Synchronous handlers stay synchronous all the way: a promise per call
   * would cost more than a tiny `map()` item itself.
   */
  private call(
    req: DispatchRequest,
    index: number,
    name: string,
    payload: unknown,
    values: unknown[],
    startedAt: number,
    slot: { ctx?: CallContext },
  ): ThreadFailure | undefined | Promise<ThreadFailure | undefined> {
    if (this.bootError) return { reason: 'boot', error: this.bootError };
    const task = this.tasks.get(name);
    if (!task) return taskFailure('unknown-task', new UnknownTaskError(name, [...this.tasks.keys()]));
    const attempt = req.a?.[index] ?? 1;
    const timeoutMs = typeof req.to === 'number' ? req.to : (req.to?.[index] ?? 0);
    const id = typeof req.i === 'string' ? `${req.i}:${(req.o ?? 0) + index}` : req.i[index]!;
    const ctx = new CallContext(id, name, attempt, threadId, timeoutMs, startedAt, this);
    if (this.earlyCancels?.delete(id)) {
      return taskFailure('error', new TaskCancelledError(name, id));
    }
    slot.ctx = ctx;
    const trace = req.tc?.[index];
    if (task.schema) return this.validateThenRun(task, payload, ctx, index, values, trace);
    return this.run(task, payload, ctx, index, values, trace);
  }

  private run(
    task: TaskHandler,
    input: unknown,
    ctx: CallContext,
    index: number,
    values: unknown[],
    trace?: string,
  ): ThreadFailure | undefined | Promise<ThreadFailure | undefined> {
    let result: unknown;
    try {
      // The attempt's span lives in the main thread; the handler runs inside
      // its context here (when this thread registered telemetry), so the spans
      // it opens are that span's children and its async work stays in it.
      const within = trace === undefined ? undefined : traceContextHooks()?.runWithin;
      result = within ? within(trace!, () => task.fn(input, ctx)) : task.fn(input, ctx);
    } catch (error) {
      ctx.dispose();
      return this.failure(task, ctx, error);
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      return (result as Promise<unknown>).then(
        (value) => {
          ctx.dispose();
          return this.settle(task, value, index, values);
        },
        (error: unknown) => {
          ctx.dispose();
          return this.failure(task, ctx, error);
        },
      );
    }
    ctx.dispose();
    return this.settle(task, result, index, values);
  }

  private async validateThenRun(
    task: TaskHandler,
    payload: unknown,
    ctx: CallContext,
    index: number,
    values: unknown[],
    trace?: string,
  ): Promise<ThreadFailure | undefined> {
    let checked;
    try {
      checked = await task.schema!['~standard'].validate(payload);
    } catch (error) {
      return this.failure(task, ctx, error);
    }
    if (checked.issues) {
      const issues = checked.issues.map((issue) => ({
        message: issue.message,
        path: issue.path?.map((p) => String(typeof p === 'object' ? p.key : p)).join('.') || undefined,
      }));
      return taskFailure('invalid-payload', new InvalidPayloadError(task.info.name, issues));
    }
    return this.run(task, checked.value, ctx, index, values, trace);
  }

  private settle(task: TaskHandler, result: unknown, index: number, values: unknown[]): ThreadFailure | undefined {
    // A result that cannot be cloned would make the reply's postMessage throw
    // inside piscina and take the thread down with every task of the batch.
    const bad = findUncloneable(result, 'result');
    if (bad) {
      return taskFailure('invalid-result', new NotCloneableError(task.info.name, 'result', bad.path, bad.type));
    }
    values[index] = result;
    return undefined;
  }

  private failure(task: TaskHandler, ctx: CallContext, error: unknown): ThreadFailure {
    // A handler that gave up because its time ran out (it saw ctx.timedOut or
    // ctx.signal) timed out, whatever it threw; what it threw is the cause.
    if (ctx.timedOut && !(error instanceof TaskTimeoutError))
      error = new TaskTimeoutError(task.info.name, ctx.timeoutMs, { cause: error });
    const e = serializeError(error);
    if (e.retryable !== false && task.retryIf) {
      try {
        if (!task.retryIf(error, ctx.attempt)) e.retryable = false;
      } catch {
        // A predicate that throws leaves the default (retryable) in place.
      }
    }
    return { reason: ctx.timedOut ? 'timeout' : 'error', error: e };
  }

  /** Closes the thread's Nest context, so that its shutdown hooks run. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.booted;
      await this.app?.close();
      this.app = undefined;
    })();
    return this.closing;
  }

  private post(message: ThreadStatusMessage): void {
    this.host.post(message);
  }
}
