/** `nestjs-worker/redis`: the Redis Streams task client. Needs the optional peer `ioredis`. */
export { RedisTaskClient } from './clients/redis/redis.task-client.js';
export { REDIS_TASK_CLIENT_OPTIONS } from './clients/redis/redis-task-client-options.interface.js';
export type {
  RedisTaskClientOptions,
  RedisEnqueueOptions,
  RedisTaskCounts,
  RedisTaskClientStats,
  RedisDeadLetter,
} from './clients/redis/redis-task-client-options.interface.js';
export {
  InvalidRedisTaskClientOptionsError,
  RedisDependencyError,
  InvalidStreamEntryError,
} from './errors/worker.errors.js';
