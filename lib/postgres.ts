/** `nestjs-worker/postgres`: the PostgreSQL task client. Needs the optional peer `pg` (and `@types/pg` for its types). */
export { PostgresTaskClient } from './clients/postgres/postgres.task-client.js';
export { POSTGRES_TASK_CLIENT_OPTIONS } from './clients/postgres/postgres-task-client-options.interface.js';
export type {
  PostgresTaskClientOptions,
  PostgresEnqueueOptions,
  PostgresTaskCounts,
  PostgresMigrationResult,
  PostgresTaskClientStats,
} from './clients/postgres/postgres-task-client-options.interface.js';
export {
  InvalidPostgresTaskClientOptionsError,
  PostgresDependencyError,
  PostgresSchemaMissingError,
  InvalidTaskRowError,
} from './errors/worker.errors.js';
