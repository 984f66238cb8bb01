import type { RetryBackoffOptions } from './interfaces/worker-module-options.interface.js';
import type { ThreadTaskInfo } from './pool/dispatch-protocol.js';
import { resolveBackoff } from './worker-options.resolver.js';
import type { ResolvedWorkerOptions } from './worker-options.resolver.js';

/** A task as the main thread schedules it: per-task options over module defaults. */
export interface TaskDefinition {
  readonly name: string;
  readonly declaredBy: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoff: RetryBackoffOptions;
  readonly batch: boolean;
}

/** The tasks the worker threads can run, as they reported them at boot. */
export class TaskRegistry {
  private readonly tasks = new Map<string, TaskDefinition>();
  readonly defaultBackoff: RetryBackoffOptions;

  constructor(reported: readonly ThreadTaskInfo[], options: ResolvedWorkerOptions) {
    this.defaultBackoff = options.retry.backoff;
    for (const info of reported) {
      this.tasks.set(info.name, {
        name: info.name,
        declaredBy: info.declaredBy,
        timeoutMs: info.timeoutMs ?? options.defaultTimeoutMs,
        maxAttempts: info.maxAttempts ?? options.retry.maxAttempts,
        backoff: info.backoff
          ? resolveBackoff(`@Task('${info.name}').backoff`, info.backoff, options.retry.backoff)
          : options.retry.backoff,
        batch: info.batch ?? true,
      });
    }
  }

  get(name: string): TaskDefinition | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()];
  }
}
