import { Messages } from '../errors/error-messages.js';
import { TasksModuleLoadError } from '../errors/worker.errors.js';

/**
 * Symbol.for() keys, not module-level state: the thread runtime and the
 * WorkerModule that checks may be different copies of this package (its ES
 * module and CommonJS builds), as when a CommonJS test runner started the
 * pool and the tasks file imports the package as an ES module.
 */
const THREAD_ROOT = Symbol.for('nestjs-worker.thread-root-module');
const THREAD_STATE = Symbol.for('nestjs-worker.pool-thread');

interface PoolThreadState {
  /** The file this thread loads the tasks module from. */
  readonly file: string;
  /** Tells the main thread at once that the file started the application again. */
  readonly reportRebootstrap: (error: Error) => void;
}

type Globals = typeof globalThis & { [THREAD_STATE]?: PoolThreadState };

/** Thread runtime: marks the root module of the context it boots, so that WorkerModule can tell it from others. */
export function markThreadRoot(moduleClass: object): void {
  Object.defineProperty(moduleClass, THREAD_ROOT, { value: true });
}

/** Thread runtime: what the check below reports to. */
export function setPoolThreadState(state: PoolThreadState): void {
  (globalThis as Globals)[THREAD_STATE] = state;
}

/**
 * WorkerModule, initialising inside a pool thread: a context this thread's
 * runtime booted is expected (the tasks module may import WorkerModule, or be
 * the AppModule). Any other application here was started by code the thread
 * loaded: the tasks file bootstraps the app when it is imported (one file
 * with bootstrap and tasks, no `isPoolThread()` guard). Left alone, the app
 * would listen on its port and start a pool from every thread; instead, the
 * main thread's `app.init()` fails now with what to do, and this app's
 * initialisation is stopped.
 */
export function assertBootedByPoolThread(rootModules: Iterable<unknown>): void {
  for (const root of rootModules) {
    if (root && (root as Record<symbol, unknown>)[THREAD_ROOT] === true) return;
  }
  const state = (globalThis as Globals)[THREAD_STATE];
  const error = new TasksModuleLoadError(Messages.tasksFileBootstrapsApp(state?.file ?? 'The tasks file'));
  state?.reportRebootstrap(error);
  throw error;
}
