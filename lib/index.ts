/**
 * `nestjs-worker`: the module, the decorator, the manager, the errors, the
 * `TaskClient` contract and the in-memory client. The durable clients have
 * entry points of their own (`nestjs-worker/postgres`, `nestjs-worker/redis`)
 * so that this one needs neither `pg` nor `ioredis`, not even their types.
 */
export { WorkerModule } from './worker.module.js';
export type { TaskClientProvider, WorkerModuleExtras } from './worker.module-definition.js';
export { WorkerManager } from './worker.manager.js';
export type { RunOptions, MapOptions } from './worker.manager.js';
export type { TaskDescriptor } from './interfaces/task-descriptor.interface.js';
export { Task } from './decorators/task.decorator.js';
export { InjectTaskClient } from './decorators/inject-task-client.decorator.js';
export { TASK_CLIENT } from './worker.constants.js';
export { isPoolThread } from './thread/is-pool-thread.js';

export { InMemoryTaskClient, IN_MEMORY_TASK_CLIENT_OPTIONS } from './clients/in-memory.task-client.js';
export type {
  InMemoryTaskClientOptions,
  EnqueueOptions,
  TaskRecord,
  TaskState,
} from './clients/in-memory.task-client.js';

export type {
  TaskClient,
  TaskEnvelope,
  TaskOutcome,
  CompletedOutcome,
  FailedOutcome,
  RetryOutcome,
  ReleasedOutcome,
  CancelledOutcome,
  ProgressUpdate,
  TaskFailureReason,
  RegisteredTask,
  MaybePromise,
} from './interfaces/task-client.interface.js';
export type { TaskStore, TaskCounts, EnqueueTask, DeadLetter } from './interfaces/task-store.interface.js';
export type { RedactErrorHook, RedactedTask } from './interfaces/error-redaction.interface.js';
export type { TaskContext } from './interfaces/task-context.interface.js';
export type { TaskOptions, StandardSchemaLike, StandardSchemaResult } from './interfaces/task-options.interface.js';
// Schedules, rate limits and concurrency keys.
export type { TaskSchedule } from './interfaces/task-options.interface.js';
export type { RateLimit, PermitRequest, PermitAnswer } from './interfaces/task-client.interface.js';
export type { ScheduleFire } from './interfaces/task-store.interface.js';
export type { ScheduleInfo } from './schedule/schedule-info.interface.js';
export { TaskLimitsUnsupportedError, InvalidScheduleError, SchedulesUnsupportedError } from './errors/worker.errors.js';
export type {
  WorkerModuleOptions,
  TasksModuleRef,
  FunctionTaskRef,
  RetryOptions,
  RetryBackoffOptions,
  WorkerLoopOptions,
  BatchingOptions,
} from './interfaces/worker-module-options.interface.js';
export type { SerializedTaskError } from './interfaces/serialized-error.interface.js';
export type * from './interfaces/worker-event.interface.js';
export type { WorkerStats } from './interfaces/worker-stats.interface.js';

export {
  WorkerError,
  InvalidWorkerOptionsError,
  WorkerModuleNotConfiguredError,
  InvalidTaskOptionsError,
  DuplicateTaskError,
  ScopedTaskProviderError,
  TasksModuleLoadError,
  WorkerBootError,
  UnknownTaskError,
  NotCloneableError,
  InvalidPayloadError,
  TaskTimeoutError,
  WorkerCrashedError,
  QueueFullError,
  WorkerShutdownError,
  TaskAbortedError,
  TaskCancelledError,
  NotInMainThreadError,
  WorkerNotStartedError,
  NonRetryableError,
  LeaseExpiredError,
} from './errors/worker.errors.js';
