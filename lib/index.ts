export { WorkerModule } from './worker.module.js';
export { WORKER_MODULE_OPTIONS } from './worker.module-definition.js';
export type { TaskClientProvider, WorkerModuleExtras } from './worker.module-definition.js';
export { WorkerManager } from './worker.manager.js';
export type { RunOptions, MapOptions } from './worker.manager.js';
export { Task } from './decorators/task.decorator.js';
export type { TaskMetadata } from './decorators/task.decorator.js';
export { InjectTaskClient } from './decorators/inject-task-client.decorator.js';
export { TASK_CLIENT, TASK_METADATA } from './worker.constants.js';
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
  TaskFailureReason,
} from './interfaces/task-client.interface.js';
export type { TaskContext } from './interfaces/task-context.interface.js';
export type { TaskOptions, StandardSchemaLike, StandardSchemaResult } from './interfaces/task-options.interface.js';
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
  NotInMainThreadError,
  WorkerNotStartedError,
  NonRetryableError,
} from './errors/worker.errors.js';
export { serializeError, deserializeError } from './errors/error-serializer.js';

export { RedisTaskClient } from './clients/redis/redis.task-client.js';
export { REDIS_TASK_CLIENT_OPTIONS } from './clients/redis/redis-task-client-options.interface.js';
export type {
  RedisTaskClientOptions,
  RedisEnqueueOptions,
  RedisTaskCounts,
  RedisDeadLetter,
} from './clients/redis/redis-task-client-options.interface.js';
export {
  InvalidRedisTaskClientOptionsError,
  RedisDependencyError,
  InvalidStreamEntryError,
  LeaseExpiredError,
} from './errors/worker.errors.js';

export { PostgresTaskClient } from './clients/postgres/postgres.task-client.js';
export { POSTGRES_TASK_CLIENT_OPTIONS } from './clients/postgres/postgres-task-client-options.interface.js';
export type {
  PostgresTaskClientOptions,
  PostgresEnqueueOptions,
  PostgresTaskCounts,
  PostgresMigrationResult,
  PostgresTaskClientStats,
} from './clients/postgres/postgres-task-client-options.interface.js';
export { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './clients/postgres/postgres.migrations.js';
export {
  InvalidPostgresTaskClientOptionsError,
  PostgresDependencyError,
  PostgresSchemaMissingError,
  InvalidTaskRowError,
} from './errors/worker.errors.js';
