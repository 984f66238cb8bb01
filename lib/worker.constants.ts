/**
 * Metadata key of `@Task()`. A fixed string (not a symbol) on purpose: the main
 * thread and every worker thread load their own copy of this library, and a
 * plain string is the only key all copies agree on.
 */
export const TASK_METADATA = 'nestjs-worker:task';

/** Injection token of the active {@link TaskClient}. */
export const TASK_CLIENT = 'nestjs-worker:task-client';

/** Key under which a pool hands its settings to the threads it starts (in `workerData`). */
export const THREAD_DATA_KEY = '__nestjsWorker';

/** Logger context used by every class of the module. */
export const LOGGER_CONTEXT = 'WorkerModule';
