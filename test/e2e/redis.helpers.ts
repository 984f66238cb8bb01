/**
 * Helpers of the RedisTaskClient suites: clients on the runner's
 * redis-server (REDIS_URL), each test on a key prefix of its own, and a Nest
 * app over ChaosTasksModule whose client comes from `useFactory` + `inject`.
 */
import { Module, type LoggerService } from '@nestjs/common';
import { RedisTaskClient, type RedisTaskClientOptions } from '../../lib/redis.js';
import { TASK_CLIENT, WorkerModule, type TaskEnvelope, type WorkerModuleOptions } from '../../lib/index.js';
import { ChaosTasksModule } from '../fixtures/chaos.tasks.js';
import { boot, chaosTasksFile, until, type BootedApp } from '../support/app.js';

export const REDIS_URL = process.env.REDIS_URL!;
let seq = 0;
export const uniquePrefix = () => `test-${process.pid}-${Date.now().toString(36)}-${++seq}`;

/** Collects the client's warnings (errors included) and its other lines instead of printing them. */
export class CaptureLogger implements LoggerService {
  readonly warnings: string[] = [];
  readonly infos: string[] = [];
  log(message: unknown): void {
    this.infos.push(String(message));
  }
  error(message: unknown): void {
    this.warnings.push(String(message));
  }
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

const REDIS_CONFIG = 'REDIS_TEST_CONFIG';

/** A Nest app over ChaosTasksModule whose client comes from `useFactory` + `inject`, as users write it. */
export async function bootRedisApp(
  config: RedisTaskClientOptions,
  worker: WorkerModuleOptions = {},
): Promise<BootedApp & { client: RedisTaskClient }> {
  @Module({ providers: [{ provide: REDIS_CONFIG, useValue: config }], exports: [REDIS_CONFIG] })
  class ConfigModule {}

  @Module({
    imports: [
      ChaosTasksModule,
      WorkerModule.forRoot({
        tasksModule: { module: ChaosTasksModule, file: chaosTasksFile },
        workers: 2,
        ...worker,
        client: {
          useFactory: (options: RedisTaskClientOptions) => new RedisTaskClient(options),
          inject: [REDIS_CONFIG],
          imports: [ConfigModule],
        },
      }),
    ],
  })
  class RedisAppModule {}
  const booted = await boot(RedisAppModule);
  return { ...booted, client: booted.app.get<RedisTaskClient>(TASK_CLIENT) };
}

export function standalone(options: RedisTaskClientOptions = {}): RedisTaskClient {
  return new RedisTaskClient({ url: REDIS_URL, logger: new CaptureLogger(), ...options });
}

export async function settled(client: RedisTaskClient, total: number, timeoutMs = 30_000): Promise<void> {
  await until(
    async () => {
      const c = await client.counts();
      return c.completed + c.failed >= total;
    },
    timeoutMs,
    `${total} tasks to finish`,
  );
}

export async function finished(client: RedisTaskClient, id: string, timeoutMs = 15_000) {
  await until(
    async () => ['completed', 'failed'].includes((await client.get(id))?.state ?? ''),
    timeoutMs,
    `task ${id} to finish`,
  );
  return (await client.get(id))!;
}

/** Fetches until `count` tasks arrived (or `timeoutMs`). */
export async function take(client: RedisTaskClient, count: number, timeoutMs = 10_000): Promise<TaskEnvelope[]> {
  const out: TaskEnvelope[] = [];
  const signal = AbortSignal.timeout(timeoutMs);
  while (out.length < count && !signal.aborted) out.push(...(await client.fetch(count - out.length, signal)));
  return out;
}

export const complete = (client: RedisTaskClient, tasks: readonly TaskEnvelope[], result: unknown = 'ok') =>
  client.publish(tasks.map((task) => ({ status: 'completed' as const, task, result, durationMs: 1 })));

export async function withClients<T>(clients: RedisTaskClient[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}
