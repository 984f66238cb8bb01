import { threadId } from 'node:worker_threads';
import { Module, type INestApplicationContext, type LogLevel } from '@nestjs/common';
import { DiscoveryModule, NestFactory } from '@nestjs/core';
import type { ThreadSettings, ThreadTaskInfo } from '../boundary/dispatch.protocol.js';
import { describeFunctionTask, loadExport } from '../boundary/module.loader.js';
import { TaskExplorer } from '../discovery/task.explorer.js';
import { TaskMetadataAccessor } from '../discovery/task-metadata.accessor.js';
import { Messages } from '../errors/error-messages.js';
import { TasksModuleLoadError } from '../errors/worker.errors.js';
import type { StandardSchemaLike } from '../interfaces/task-options.interface.js';
import type { CallContext } from './call.context.js';
import { ThreadLogger } from './thread.logger.js';

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
 */
export async function loadTaskHandlers(settings: ThreadSettings): Promise<LoadedHandlers> {
  const handlers = new Map<string, TaskHandler>();
  let app: INestApplicationContext | undefined;
  try {
    const { tasksModule } = settings;
    if (tasksModule) {
      const module = await loadExport(tasksModule.file, tasksModule.exportName, () =>
        Messages.tasksModuleNotFound(tasksModule.file, tasksModule.exportName),
      );
      // The user's module is wrapped so that discovery is available even
      // when it does not import DiscoveryModule itself.
      class NestWorkerThreadModule {}
      Module({ imports: [DiscoveryModule, module as never], providers: [TaskMetadataAccessor, TaskExplorer] })(
        NestWorkerThreadModule,
      );
      app = await NestFactory.createApplicationContext(NestWorkerThreadModule, {
        logger: new ThreadLogger(threadId, settings.logLevels as LogLevel[]),
        abortOnError: false,
      });
      for (const task of app.get(TaskExplorer).explore().values()) {
        const { timeoutMs, maxAttempts, batch, backoff, schema, retryIf } = task.options;
        handlers.set(task.name, {
          info: { name: task.name, declaredBy: task.declaredBy, timeoutMs, maxAttempts, batch, backoff },
          fn: task.handler as TaskHandler['fn'],
          schema,
          retryIf,
        });
      }
    }
    for (const fn of settings.functions) {
      const handler = await loadExport(fn.file, fn.exportName, () => Messages.functionNotExported(fn.name, fn.file));
      if (typeof handler !== 'function') {
        throw new TasksModuleLoadError(Messages.functionNotExported(fn.name, fn.file));
      }
      handlers.set(fn.name, {
        info: { name: fn.name, declaredBy: describeFunctionTask(fn), ...fn.options },
        fn: handler as TaskHandler['fn'],
      });
    }
    return { app, handlers };
  } catch (error) {
    await app?.close().catch(() => undefined);
    throw error;
  }
}
