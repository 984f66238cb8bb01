import { SetMetadata } from '@nestjs/common';
import { Messages } from '../errors/error-messages.js';
import { InvalidTaskOptionsError } from '../errors/worker.errors.js';
import type { TaskOptions } from '../interfaces/task-options.interface.js';
import { TASK_METADATA } from '../worker.constants.js';
import { checkTaskOptions } from './task-options.checks.js';

/** What `@Task()` stores on the decorated method. */
export interface TaskMetadata {
  readonly name: string;
  readonly options: TaskOptions;
}

/**
 * Declares a method of a provider as the handler of task `name`. The handler
 * runs in a worker thread, on that thread's own instance of the provider
 * (with its own injected dependencies), and receives `(payload, ctx)`.
 * Bad options throw `InvalidTaskOptionsError` here, when the class is
 * defined, naming the task and the option.
 *
 * ```ts
 * @Task('render-report', { timeoutMs: 30_000 })
 * async render(payload: { id: string }, ctx: TaskContext) { ... }
 * ```
 */
export function Task(name: string, options: TaskOptions = {}): MethodDecorator {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new TypeError(Messages.invalidTaskName(name));
  }
  checkTaskOptions(options, (path, problem, fix) => new InvalidTaskOptionsError(name, path, problem, fix));
  const metadata: TaskMetadata = { name, options };
  return SetMetadata(TASK_METADATA, metadata);
}
