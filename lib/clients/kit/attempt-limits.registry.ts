import type { RegisteredTask } from '../../interfaces/task-client.interface.js';
import { INT4_MAX } from './enqueue.validator.js';

/**
 * Who decides how many attempts a task has when a durable client settles it
 * without the worker loop: a lease that ran out on what may be its last
 * attempt. In order: the task's own `maxAttempts` (given at enqueue), the
 * `@Task()` policy the loop registered for its name, and only for names
 * this process does not know (another service's tasks on a shared queue)
 * the client's `maxAttempts` option.
 */
export class AttemptLimits {
  private byName: ReadonlyMap<string, number> = new Map();

  constructor(readonly fallback: number) {}

  /** Replaces the registered policies; called by `TaskClient.registerTasks()`. */
  register(client: string, tasks: readonly RegisteredTask[]): void {
    if (!Array.isArray(tasks)) throw new TypeError(`${client}.registerTasks(): expected an array of tasks.`);
    const byName = new Map<string, number>();
    for (const task of tasks) {
      const { name, maxAttempts } = task ?? {};
      if (typeof name !== 'string' || name === '') {
        throw new TypeError(`${client}.registerTasks(): every task needs a non-empty string name.`);
      }
      if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > INT4_MAX) {
        throw new TypeError(
          `${client}.registerTasks(): task "${name}" has maxAttempts ${String(maxAttempts)}; expected a whole number from 1 to ${INT4_MAX}.`,
        );
      }
      byName.set(name, maxAttempts);
    }
    this.byName = byName;
  }

  /** Attempts in all for a task of this name that was enqueued without its own limit. */
  of(name: string): number {
    return this.byName.get(name) ?? this.fallback;
  }

  /** The registered policies as two parallel arrays, for a statement's or a script's parameters. */
  columns(): { names: string[]; limits: number[] } {
    return { names: [...this.byName.keys()], limits: [...this.byName.values()] };
  }
}
