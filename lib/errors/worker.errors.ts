import { Messages } from './error-messages.js';

/** Base class of every error this module raises. `code` is stable across versions. */
export class WorkerError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, 'name', {
      value: new.target.name,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
}

export class InvalidWorkerOptionsError extends WorkerError {
  constructor(path: string, problem: string, fix: string) {
    super('ERR_WORKER_INVALID_OPTIONS', Messages.invalidOption(path, problem, fix));
  }
}

/** `WorkerModule` was imported as the bare class, without `forRoot()` / `forRootAsync()`, so it has no options. */
export class WorkerModuleNotConfiguredError extends WorkerError {
  constructor(
    readonly importers: readonly string[],
    configuredElsewhere: boolean,
  ) {
    super('ERR_WORKER_NOT_CONFIGURED', Messages.moduleNotConfigured(importers, configuredElsewhere));
  }
}

/** A `@Task()` option is invalid: thrown where the task is declared, naming the task, the option and the fix. */
export class InvalidTaskOptionsError extends WorkerError {
  constructor(
    readonly taskName: string,
    path: string,
    problem: string,
    fix: string,
  ) {
    super('ERR_WORKER_INVALID_TASK_OPTIONS', Messages.invalidTaskOption(taskName, path, problem, fix));
  }
}

export class DuplicateTaskError extends WorkerError {
  constructor(
    readonly taskName: string,
    first: string,
    second: string,
  ) {
    super('ERR_WORKER_DUPLICATE_TASK', Messages.duplicateTask(taskName, first, second));
  }
}

export class ScopedTaskProviderError extends WorkerError {
  constructor(className: string, scope: string) {
    super('ERR_WORKER_SCOPED_TASK_PROVIDER', Messages.scopedTaskProvider(className, scope));
  }
}

/** The tasks module (or a function task's file) cannot be loaded or found in its file. */
export class TasksModuleLoadError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_WORKER_TASKS_MODULE_LOAD', message, options);
  }
}

/** A worker thread could not boot its Nest context, or the threads' tasks do not match the application's. */
export class WorkerBootError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_WORKER_BOOT', message, options);
  }
}

export class UnknownTaskError extends WorkerError {
  constructor(
    readonly taskName: string,
    known: readonly string[],
  ) {
    super('ERR_WORKER_UNKNOWN_TASK', Messages.unknownTask(taskName, known));
  }
}

/** A payload or a result that cannot cross a thread boundary (structured clone). */
export class NotCloneableError extends WorkerError {
  constructor(
    readonly taskName: string,
    readonly direction: 'payload' | 'result',
    readonly path: string,
    readonly valueType: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_WORKER_NOT_CLONEABLE', Messages.notCloneable(taskName, direction, path, valueType), options);
  }
}

/** The payload failed the task's `schema`. `issues` lists what the schema reported. */
export class InvalidPayloadError extends WorkerError {
  constructor(
    readonly taskName: string,
    readonly issues: ReadonlyArray<{ message: string; path?: string }>,
  ) {
    super(
      'ERR_WORKER_INVALID_PAYLOAD',
      Messages.invalidPayload(taskName, issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')),
    );
  }
}

export class TaskTimeoutError extends WorkerError {
  constructor(
    readonly taskName: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super('ERR_WORKER_TASK_TIMEOUT', Messages.timeout(taskName, timeoutMs), options);
  }
}

/** The thread running the task died: `process.exit()`, an uncaught error, or out of memory. */
export class WorkerCrashedError extends WorkerError {
  constructor(
    readonly taskName: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_WORKER_THREAD_CRASHED', Messages.crashed(taskName, reason), options);
  }
}

export class QueueFullError extends WorkerError {
  constructor(
    readonly taskName: string,
    size: number,
  ) {
    super('ERR_WORKER_QUEUE_FULL', Messages.queueFull(taskName, size));
  }
}

/**
 * Where shutdown found the task: `refused` (asked for once shutdown had
 * begun), `unstarted` (still queued at the shutdown deadline), `stopped`
 * (still running at the shutdown deadline: stopped, with its thread).
 */
export type ShutdownStage = 'refused' | 'unstarted' | 'stopped';

/** The task did not complete because the pool shut down; `stage` says whether it had started. */
export class WorkerShutdownError extends WorkerError {
  constructor(
    readonly taskName: string,
    readonly stage: ShutdownStage = 'refused',
    /** `shutdownTimeoutMs`, for `unstarted` and `stopped`. */
    readonly shutdownTimeoutMs?: number,
  ) {
    super('ERR_WORKER_SHUTTING_DOWN', Messages.shuttingDown(taskName, stage, shutdownTimeoutMs));
  }
}

export class TaskAbortedError extends WorkerError {
  constructor(
    readonly taskName: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_WORKER_ABORTED', Messages.aborted(taskName), options);
  }
}

/**
 * The task was cancelled (`WorkerManager.cancel(id)` or the store's
 * `cancel(id)`, in any process) while it ran: `ctx.signal.reason` in the
 * handler. `timeoutGraceMs` later, a handler still running has its thread
 * stopped and replaced.
 */
export class TaskCancelledError extends WorkerError {
  constructor(
    readonly taskName: string,
    readonly taskId: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_WORKER_TASK_CANCELLED', Messages.taskCancelled(taskName, taskId), options);
  }
}

/** A `WorkerManager` method that only works in the main thread was called in a worker thread. */
export class NotInMainThreadError extends WorkerError {
  constructor(method: string) {
    super('ERR_WORKER_IN_WORKER_THREAD', Messages.inWorkerThread(method));
  }
}

export class WorkerNotStartedError extends WorkerError {
  constructor(method: string) {
    super('ERR_WORKER_NOT_STARTED', Messages.notStarted(method));
  }
}

/**
 * Throw it (or any error with `retryable: false`) from a handler to fail the
 * task for good, without the remaining attempts.
 */
export class NonRetryableError extends Error {
  readonly retryable = false as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.defineProperty(this, 'name', {
      value: new.target.name,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
}

/** A `RedisTaskClient` option is invalid; the message names the fix. */
export class InvalidRedisTaskClientOptionsError extends WorkerError {
  constructor(option: string, problem: string, fix: string) {
    super('ERR_WORKER_REDIS_INVALID_OPTIONS', Messages.redisOption(option, problem, fix));
  }
}

/** `RedisTaskClient` was used but the optional peer dependency `ioredis` cannot be loaded. */
export class RedisDependencyError extends WorkerError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ERR_WORKER_REDIS_DEPENDENCY', Messages.redisDependency(reason), options);
  }
}

/** A Redis stream entry that cannot be decoded into a task (dead-lettered with reason `invalid-payload`). */
export class InvalidStreamEntryError extends WorkerError {
  constructor(
    readonly entryId: string,
    readonly taskId: string,
    readonly taskName: string,
    stream: string,
    problem: string,
  ) {
    super('ERR_WORKER_INVALID_STREAM_ENTRY', Messages.redisInvalidEntry(stream, entryId, taskId, taskName, problem));
  }
}

/** An attempt whose lease ran out: the process running it died or stalled (recorded as that attempt's error). */
export class LeaseExpiredError extends WorkerError {
  constructor(
    readonly taskName: string,
    readonly attempt: number,
    leaseMs: number,
  ) {
    super('ERR_WORKER_LEASE_EXPIRED', Messages.leaseExpired(taskName, attempt, leaseMs));
  }
}

/** Our own error classes, by name, so that one raised in a thread comes back as the same class. */
export const WORKER_ERROR_CLASSES: Readonly<Record<string, new (...args: any[]) => Error>> = {
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
  InvalidRedisTaskClientOptionsError,
  RedisDependencyError,
  InvalidStreamEntryError,
  LeaseExpiredError,
};

/** A `PostgresTaskClient` option is invalid; the message names the fix. */
export class InvalidPostgresTaskClientOptionsError extends WorkerError {
  constructor(option: string, problem: string, fix: string) {
    super('ERR_WORKER_POSTGRES_INVALID_OPTIONS', Messages.pgOption(option, problem, fix));
  }
}

/** `PostgresTaskClient` had to make a pool but the optional peer dependency `pg` cannot be loaded. */
export class PostgresDependencyError extends WorkerError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ERR_WORKER_POSTGRES_DEPENDENCY', Messages.pgDependency(reason), options);
  }
}

/** The tasks table is missing or older than the client (`migrate()` was not run against this database and schema since an upgrade). */
export class PostgresSchemaMissingError extends WorkerError {
  constructor(
    readonly table: string,
    queue: string,
    options?: { cause?: unknown; outdated?: boolean },
  ) {
    super(
      'ERR_WORKER_POSTGRES_SCHEMA_MISSING',
      options?.outdated ? Messages.pgSchemaOutdated(table, queue) : Messages.pgSchemaMissing(table, queue),
      { cause: options?.cause },
    );
  }
}

/** A task row whose payload cannot be decoded (dead-lettered with reason `invalid-payload`). */
export class InvalidTaskRowError extends WorkerError {
  constructor(
    readonly taskId: string,
    readonly taskName: string,
    table: string,
    problem: string,
  ) {
    super('ERR_WORKER_INVALID_TASK_ROW', Messages.pgInvalidRow(table, taskId, taskName, problem));
  }
}

/** `@grpc/grpc-js` or `@grpc/proto-loader` (optional peers) cannot be loaded, or the package's .proto is missing. */
export class GrpcDependencyError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_WORKER_GRPC_DEPENDENCY', message, options);
  }
}

/** A `GrpcTaskClient` or `GrpcTaskServer` option is invalid; the message names the fix. */
export class InvalidGrpcOptionsError extends WorkerError {
  constructor(owner: string, option: string, problem: string, fix: string) {
    super('ERR_WORKER_GRPC_INVALID_OPTIONS', Messages.grpcOption(owner, option, problem, fix));
  }
}

/** A call to the gRPC task server failed; `status` is the gRPC status name (UNAVAILABLE, DEADLINE_EXCEEDED, ...). */
export class GrpcTaskServerError extends WorkerError {
  constructor(
    readonly address: string,
    readonly method: string,
    readonly status: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_WORKER_GRPC_CALL', message, options);
  }
}

/** The gRPC task server refused this client's credentials (the `authenticate` hook said no). */
export class GrpcUnauthenticatedError extends WorkerError {
  constructor(
    readonly address: string,
    details: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_WORKER_GRPC_UNAUTHENTICATED', Messages.grpcUnauthenticated(address, details), options);
  }
}

/**
 * `GrpcTaskClient.connect()` (or its first call) could not connect for a
 * reason waiting would not mend: a certificate it does not trust, a name
 * the certificate does not carry, a server that wants a client certificate,
 * `grpcs://` to a server without TLS. The message names the fix.
 */
export class GrpcConnectError extends WorkerError {
  constructor(
    readonly address: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_WORKER_GRPC_CONNECT', message, options);
  }
}

/** `GrpcTaskClient.connect()` could not reach the server within `connectTimeoutMs`. */
export class GrpcConnectTimeoutError extends WorkerError {
  constructor(address: string, ms: number, reason: string, options?: { cause?: unknown }) {
    super('ERR_WORKER_GRPC_CONNECT_TIMEOUT', Messages.grpcConnectTimeout(address, ms, reason), options);
  }
}

/** A threshold given to `WorkerHealthIndicator.isHealthy()` is invalid. */
export class InvalidWorkerHealthOptionsError extends WorkerError {
  constructor(path: string, problem: string, fix: string) {
    super('ERR_WORKER_INVALID_HEALTH_OPTIONS', Messages.invalidHealthOption(path, problem, fix));
  }
}

/** An option of `WorkerDashboardModule.forRoot()` is invalid: thrown at bootstrap, naming the option and the fix. */
export class InvalidWorkerDashboardOptionsError extends WorkerError {
  constructor(path: string, problem: string, fix: string) {
    super('ERR_WORKER_INVALID_DASHBOARD_OPTIONS', Messages.invalidDashboardOption(path, problem, fix));
  }
}

/**
 * A task declares `rateLimit` or `concurrencyPerKey`, and the task client has
 * no `acquirePermits()`: thrown at bootstrap, naming the tasks.
 */
export class TaskLimitsUnsupportedError extends WorkerError {
  constructor(
    readonly taskNames: readonly string[],
    client: string,
  ) {
    super('ERR_WORKER_TASK_LIMITS_UNSUPPORTED', Messages.taskLimitsUnsupported(taskNames, client));
  }
}

/**
 * A schedule (`@Task({ schedule })` or the module's `schedules`) is invalid (a
 * cron expression or a time zone that cannot be read, an unknown task), or
 * the task client has no `fireSchedule()`: thrown at bootstrap, naming the
 * schedule and the fix.
 */
export class InvalidScheduleError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_WORKER_INVALID_SCHEDULE', message, options);
  }
}

/** Schedules are declared and the task client has no `fireSchedule()`: thrown at bootstrap, naming the schedules. */
export class SchedulesUnsupportedError extends WorkerError {
  constructor(
    readonly scheduleKeys: readonly string[],
    client: string,
  ) {
    super('ERR_WORKER_SCHEDULES_UNSUPPORTED', Messages.schedulesUnsupported(scheduleKeys, client));
  }
}
