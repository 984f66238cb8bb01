import { Global, Inject, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { availableParallelism } from 'node:os';
import {
  InMemoryTaskClient,
  TASK_CLIENT,
  WorkerModule,
  type EnqueueOptions,
  type TaskRecord,
  type TaskState,
  type WorkerModuleOptions,
} from 'nestjs-worker';
import { PostgresTaskClient } from 'nestjs-worker/postgres';
import { RedisTaskClient } from 'nestjs-worker/redis';
import { GrpcTaskClient } from 'nestjs-worker/grpc';
import { grpcServing } from './grpc/grpc-serving.module.js';
import { tasksModuleRef } from './tasks.module.js';

/**
 * Where queued tasks live, chosen by ONE environment variable:
 *
 *   (unset)                       in this process's memory (the default; lost on restart)
 *   TASKS_URL=postgres://...      PostgreSQL (schema nestjs_worker, created on first start)
 *   TASKS_URL=redis://...         Redis
 *   TASKS_URL=grpc://host:port    another instance's store, over gRPC (that one sets GRPC_LISTEN; see grpc/)
 *
 * Everything else in the app is the same on every backend: it enqueues and
 * reads tasks through `TaskStore`, and the worker loop pulls them from the
 * same client.
 */
export type Backend = 'memory' | 'postgres' | 'redis' | 'grpc';

export const TASKS_BACKEND = Symbol('TASKS_BACKEND');

export function backendOf(url: string | undefined): Backend {
  if (!url || url === 'memory' || url === 'memory://') return 'memory';
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  if (scheme === 'redis' || scheme === 'rediss') return 'redis';
  if (scheme === 'grpc' || scheme === 'grpcs') return 'grpc';
  throw new Error(
    `TASKS_URL must start with postgres://, postgresql://, redis://, rediss://, grpc:// or grpcs:// (or be unset for in-memory), got "${redact(url)}".`,
  );
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

/** The clients share what the HTTP API needs: enqueue(), get() and counts(). */
export type AppTaskClient = InMemoryTaskClient | PostgresTaskClient | RedisTaskClient | GrpcTaskClient;

/**
 * The client for TASKS_URL. The durable ones load `pg` / `ioredis` (optional
 * peer dependencies of nestjs-worker) only when constructed, so an in-memory
 * run needs neither installed.
 */
function createTaskClient(
  backend: Backend,
  url: string,
  env: NodeJS.ProcessEnv,
): AppTaskClient | Promise<AppTaskClient> {
  switch (backend) {
    case 'memory':
      return new InMemoryTaskClient({ maxFinished: 10_000 });
    case 'postgres':
      // migrate: creates or upgrades the tables at startup (safe with several instances).
      return new PostgresTaskClient({ connectionString: url, migrate: true });
    case 'redis':
      return new RedisTaskClient({ url });
    case 'grpc':
      // Waits for the server's answer (its lease) before the worker loop starts.
      return GrpcTaskClient.connect({ url, token: env.GRPC_TOKEN || undefined });
  }
}

/** What a task looks like through the HTTP API, whatever the backend. */
export interface TaskView {
  id: string;
  name: string;
  state: TaskState;
  attempt: number;
  maxAttempts?: number;
  enqueuedAt: string;
  finishedAt?: string;
  failureReason?: string;
  /** Every failed attempt's error, oldest first. */
  errors?: Array<{ name: string; message: string }>;
  result?: unknown;
  /** The latest `ctx.progress()` of the running (or last) attempt. */
  progress?: unknown;
  uniqueKey?: string;
}

/** Enqueue and look up tasks on whichever client runs. */
@Injectable()
export class TaskStore {
  constructor(
    @Inject(TASK_CLIENT) private readonly client: AppTaskClient,
    @Inject(TASKS_BACKEND) readonly backend: Backend,
  ) {}

  /** The in-memory client answers synchronously, the durable ones with a promise: `await` covers both. */
  async enqueue(name: string, payload: unknown, options?: EnqueueOptions): Promise<string> {
    return await this.client.enqueue(name, payload, options);
  }

  async get(id: string): Promise<TaskView | undefined> {
    const record = await this.client.get(id);
    return record ? toView(record) : undefined;
  }

  /**
   * Tasks per state (in memory at no cost; PostgreSQL and Redis with a
   * query, given `withinMs` at most so that /health stays fast).
   */
  async counts(withinMs = 250): Promise<Record<string, number> | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), withinMs)));
    try {
      return await Promise.race([Promise.resolve(this.client.counts()).catch(() => undefined), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The record, minus the payload (an uploaded image is not worth sending back), with readable times. */
function toView(record: TaskRecord): TaskView {
  const view: TaskView = {
    id: record.id,
    name: record.name,
    state: record.state,
    attempt: record.attempt,
    enqueuedAt: new Date(record.enqueuedAt).toISOString(),
  };
  if (record.maxAttempts !== undefined) view.maxAttempts = record.maxAttempts;
  if (record.finishedAt !== undefined) view.finishedAt = new Date(record.finishedAt).toISOString();
  if (record.failureReason !== undefined) view.failureReason = record.failureReason;
  if (record.errors.length > 0) view.errors = record.errors.map(({ name, message }) => ({ name, message }));
  if (record.result !== undefined) view.result = record.result;
  if (record.progress !== undefined) view.progress = record.progress;
  if (record.uniqueKey !== undefined) view.uniqueKey = record.uniqueKey;
  return view;
}

/** Worker pool settings for the sample; WORKERS and SHUTDOWN_TIMEOUT_MS tune them. */
function workerOptions(env: NodeJS.ProcessEnv): WorkerModuleOptions {
  return {
    tasksModule: tasksModuleRef,
    workers: Number(env.WORKERS) || availableParallelism(),
    // Room for bursts; /run callers wait for room beyond it.
    queueSize: 256,
    // Kubernetes waits 30 s after SIGTERM before SIGKILL: finish in time.
    shutdownTimeoutMs: Number(env.SHUTDOWN_TIMEOUT_MS) || 25_000,
    retry: { maxAttempts: 3, backoff: { initialMs: 1_000, maxMs: 60_000 } },
  };
}

@Global()
@Module({})
export class TaskSourceModule {
  static fromEnv(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const url = env.TASKS_URL ?? '';
    const backend = backendOf(url);
    return {
      module: TaskSourceModule,
      imports: [
        WorkerModule.forRootAsync({
          useFactory: () => workerOptions(env),
          client: { useFactory: () => createTaskClient(backend, url, env) },
        }),
        ...grpcServing(env),
      ],
      providers: [{ provide: TASKS_BACKEND, useValue: backend }, TaskStore],
      exports: [TASKS_BACKEND, TaskStore],
    };
  }
}
