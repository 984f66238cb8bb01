import type { LoggerService } from '@nestjs/common';
import type { ModulesContainer } from '@nestjs/core';
import type { ThreadSettings, ThreadTaskInfo } from '../boundary/dispatch.protocol.js';
import type { ResolvedWorkerOptions } from '../worker-options.resolver.js';
import type { EventSink } from './event.sink.js';
import type { TaskPool } from './task-pool.interface.js';

/**
 * Injection token of the factory `WorkerModule` builds its pool with: worker
 * threads by default. A string, not a class or a symbol: a test overrides it
 * (`overrideProvider(WORKER_POOL)`) from `nestjs-worker/testing`, which may
 * be another copy of this package than the app's (ES module and CommonJS
 * builds), and only a string names the same provider in both.
 */
export const WORKER_POOL = 'nestjs-worker:pool';

/** Where the task code is, as messages and `WorkerManager.tasks()` name it: the tasks module and each function task. */
export type TaskCode = Pick<ThreadSettings, 'tasksModule' | 'functions'>;

/** A pool the orchestrator can start and close, besides running dispatches. */
export interface ManagedTaskPool extends TaskPool {
  /** Resolves once every task can run; with the tasks the pool can run. */
  start(): Promise<ThreadTaskInfo[]>;
  /** Stops the pool; what still runs is rejected. */
  close(timeoutMs: number): Promise<void>;
}

/** What a pool factory gets from the application it runs tasks for. */
export interface TaskPoolContext {
  readonly options: ResolvedWorkerOptions;
  /** The application's modules, with their provider instances. */
  readonly modules: ModulesContainer;
  readonly logger: LoggerService;
  readonly events: EventSink;
}

export interface TaskPoolSetup {
  readonly pool: ManagedTaskPool;
  readonly code: TaskCode;
  /** What runs the tasks, for the start-up line: `4 worker thread(s)`. */
  readonly description: string;
}

/** Builds the pool `WorkerModule` runs tasks in (see `WORKER_POOL`). */
export interface TaskPoolFactory {
  create(context: TaskPoolContext): TaskPoolSetup;
}
