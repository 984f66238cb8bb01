import { threadId } from 'node:worker_threads';
import { Module, type INestApplicationContext, type LogLevel } from '@nestjs/common';
import { DiscoveryModule, NestFactory } from '@nestjs/core';
import { describeFunctionTask, type ThreadSettings, type ThreadTaskInfo } from '../boundary/dispatch.protocol.js';
import { TaskExplorer } from '../discovery/task.explorer.js';
import { TaskMetadataAccessor } from '../discovery/task-metadata.accessor.js';
import type { StandardSchemaLike } from '../interfaces/task-options.interface.js';
import { findFunctionHandler, findTasksModule } from '../tasks-file/module-export.finder.js';
import { loadModuleExports } from '../tasks-file/module-exports.loader.js';
import { markThreadRoot, setPoolThreadState } from '../tasks-file/pool-thread.guard.js';
import type { CallContext } from './call.context.js';
import { ThreadLogger } from './thread.logger.js';
import { trimBootHeap } from './boot-heap.trim.js';

/** A task as a thread runs it. */
export interface TaskHandler {
  readonly info: ThreadTaskInfo;
  readonly fn: (payload: unknown, ctx: CallContext) => unknown;
  readonly schema?: StandardSchemaLike;
  readonly retryIf?: (error: unknown, attempt: number) => boolean;
}

export interface LoadedHandlers {
  /** The thread's own Nest context, booted from the tasks module (none for function tasks only). */
  readonly app?: INestApplicationContext;
  readonly handlers: Map<string, TaskHandler>;
}

/**
 * Boots the thread's Nest context from the tasks module and collects its
 * `@Task()` handlers, bound to this thread's provider instances; then loads
 * the plain function tasks. A context that booted is closed again when a
 * later step fails, so its providers' connections do not outlive the thread's boot.
 * A booted context's leftovers are then collected (see boot-heap.trim.ts).
 */
export async function loadTaskHandlers(
  settings: ThreadSettings,
  onRebootstrap: (error: Error) => void,
): Promise<LoadedHandlers> {
  const handlers = new Map<string, TaskHandler>();
  let app: INestApplicationContext | undefined;
  try {
    const { tasksModule } = settings;
    if (tasksModule) {
      const { file, exportName, moduleName } = tasksModule;
      // Loading the file may start the whole application again (a file with
      // both the bootstrap and the tasks): WorkerModule reports that here.
      setPoolThreadState({ file, reportRebootstrap: onRebootstrap });
      const module = findTasksModule(await loadModuleExports(file), file, exportName, moduleName);
      // The user's module is wrapped so that discovery is available even
      // when it does not import DiscoveryModule itself.
      class NestWorkerThreadModule {}
      markThreadRoot(NestWorkerThreadModule);
      Module({ imports: [DiscoveryModule, module as never], providers: [TaskMetadataAccessor, TaskExplorer] })(
        NestWorkerThreadModule,
      );
      app = await NestFactory.createApplicationContext(NestWorkerThreadModule, {
        logger: new ThreadLogger(threadId, settings.logLevels as LogLevel[]),
        abortOnError: false,
      });
      for (const task of app.get(TaskExplorer).explore().values()) {
        const { timeoutMs, maxAttempts, batch, backoff, schema, retryIf } = task.options;
        const { rateLimit, concurrencyPerKey, schedule } = task.options;
        handlers.set(task.name, {
          info: {
            name: task.name,
            declaredBy: task.declaredBy,
            timeoutMs,
            maxAttempts,
            batch,
            backoff,
            rateLimit,
            concurrencyPerKey,
            schedule,
          },
          fn: task.handler as TaskHandler['fn'],
          schema,
          retryIf,
        });
      }
    }
    for (const fn of settings.functions) {
      setPoolThreadState({ file: fn.file, reportRebootstrap: onRebootstrap });
      const handler = findFunctionHandler(await loadModuleExports(fn.file), fn.file, fn.exportName, fn.name);
      handlers.set(fn.name, {
        info: { name: fn.name, declaredBy: describeFunctionTask(fn), ...fn.options },
        fn: handler as TaskHandler['fn'],
      });
    }
    // The context's boot grew this thread's young generation; tasks run better without that.
    if (app) await trimBootHeap();
    return { app, handlers };
  } catch (error) {
    await app?.close().catch(() => undefined);
    throw error;
  }
}
