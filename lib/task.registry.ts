import type { ThreadTaskInfo } from './boundary/dispatch.protocol.js';
import { mergeBackoff } from './decorators/task-options.checks.js';
import type { RateLimit, RegisteredTask } from './interfaces/task-client.interface.js';
import type { TaskDescriptor } from './interfaces/task-descriptor.interface.js';
import type { TaskSchedule } from './interfaces/task-options.interface.js';
import type { RetryBackoffOptions } from './interfaces/worker-module-options.interface.js';
import type { ResolvedWorkerOptions } from './worker-options.resolver.js';

/** A task as the main thread schedules it: per-task options over module defaults. */
export interface TaskDefinition {
  readonly name: string;
  readonly declaredBy: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoff: RetryBackoffOptions;
  readonly batch: boolean;
  /** `@Task({ rateLimit })`, enforced by the loop's permit gate. */
  readonly rateLimit?: RateLimit;
  /** `@Task({ concurrencyPerKey })`, enforced by the loop's permit gate. */
  readonly concurrencyPerKey?: number;
  /** `@Task({ schedule })`, run by the scheduler. */
  readonly schedule?: TaskSchedule;
  /** As declared; what `WorkerManager.tasks()` shows. */
  readonly descriptor: TaskDescriptor;
}

/**
 * The tasks the worker threads can run, as they reported them at boot, with
 * the options the main thread found declared for them (`@Task()` options
 * there include what cannot cross a thread: `schema`, `retryIf`).
 */
export class TaskRegistry {
  private readonly tasks = new Map<string, TaskDefinition>();
  readonly defaultBackoff: RetryBackoffOptions;

  constructor(
    reported: readonly ThreadTaskInfo[],
    declared: ReadonlyMap<string, TaskDescriptor>,
    options: ResolvedWorkerOptions,
  ) {
    this.defaultBackoff = options.retry.backoff;
    for (const info of reported) {
      const descriptor = declared.get(info.name) ?? fromThread(info);
      this.tasks.set(info.name, {
        name: info.name,
        declaredBy: info.declaredBy,
        timeoutMs: info.timeoutMs ?? options.defaultTimeoutMs,
        maxAttempts: info.maxAttempts ?? options.retry.maxAttempts,
        // `@Task()` checked the backoff where it was declared.
        backoff: info.backoff ? mergeBackoff(options.retry.backoff, info.backoff) : options.retry.backoff,
        batch: info.batch ?? true,
        // The threads report what their tasks module declares; the main thread's own discovery covers the rest.
        rateLimit: info.rateLimit ?? descriptor.options.rateLimit,
        concurrencyPerKey: info.concurrencyPerKey ?? descriptor.options.concurrencyPerKey,
        schedule: info.schedule ?? descriptor.options.schedule,
        descriptor,
      });
    }
  }

  get(name: string): TaskDefinition | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()];
  }

  descriptors(): TaskDescriptor[] {
    return [...this.tasks.values()].map((t) => t.descriptor);
  }

  /** Every task with the attempts the loop allows it, for `TaskClient.registerTasks()`. */
  policies(): RegisteredTask[] {
    return [...this.tasks.values()].map(({ name, maxAttempts, rateLimit, concurrencyPerKey }) => ({
      name,
      maxAttempts,
      ...(rateLimit ? { rateLimit } : {}),
      ...(concurrencyPerKey !== undefined ? { concurrencyPerKey } : {}),
    }));
  }
}

function fromThread(info: ThreadTaskInfo): TaskDescriptor {
  const { name, declaredBy, ...options } = info;
  for (const key of Object.keys(options) as Array<keyof typeof options>) {
    if (options[key] === undefined) delete options[key];
  }
  return { name, declaredBy, options };
}
