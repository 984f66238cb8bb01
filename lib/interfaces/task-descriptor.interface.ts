import type { TaskOptions } from './task-options.interface.js';

/** A task the worker threads can run, as `WorkerManager.tasks()` lists it. */
export interface TaskDescriptor {
  /** Name given to `@Task()` (or to a function task). */
  readonly name: string;
  /** Where it is declared: `ReportTasks.render (ReportsModule)`, or `function checksum (file:///...)`. */
  readonly declaredBy: string;
  /**
   * The options as declared, module defaults not filled in. `schema` and
   * `retryIf` are there when the application itself imports the providers
   * that declare the task (functions cannot cross to the main thread).
   */
  readonly options: Readonly<TaskOptions>;
}
