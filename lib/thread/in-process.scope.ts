import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Marks the code an in-process pool (nestjs-worker/testing) runs as a task,
 * so that it sees what it would see in a worker thread: `isPoolThread()` is
 * true, and `WorkerManager` refuses to start tasks from inside a task. Made
 * on first use: an application that never runs tasks in-process pays nothing.
 */
let storage: AsyncLocalStorage<true> | undefined;

export function runAsInProcessTask<T>(fn: () => T): T {
  storage ??= new AsyncLocalStorage<true>();
  return storage.run(true, fn);
}

export function isInProcessTask(): boolean {
  return storage !== undefined && storage.getStore() === true;
}
