import { isMainThread, workerData } from 'node:worker_threads';
import { THREAD_DATA_KEY } from '../worker.constants.js';
import { isInProcessTask } from './in-process.scope.js';

/**
 * True inside a thread started by a worker pool of this module. There, the
 * tasks module is booted to *run* tasks: `WorkerModule` must not start a pool
 * of its own (that would start threads from threads, without end). Also
 * true inside a task an in-process pool (nestjs-worker/testing) runs, as it
 * would be in the thread.
 */
export function isPoolThread(): boolean {
  return (
    (!isMainThread && workerData != null && typeof workerData === 'object' && THREAD_DATA_KEY in workerData) ||
    isInProcessTask()
  );
}
