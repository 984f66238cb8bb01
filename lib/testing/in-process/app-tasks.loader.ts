import { fileURLToPath } from 'node:url';
import { MetadataScanner, Reflector, type DiscoveryService, type ModulesContainer } from '@nestjs/core';
import { describeFunctionTask } from '../../boundary/dispatch.protocol.js';
import { TaskExplorer } from '../../discovery/task.explorer.js';
import { TaskMetadataAccessor } from '../../discovery/task-metadata.accessor.js';
import { Messages } from '../../errors/error-messages.js';
import { WorkerBootError } from '../../errors/worker.errors.js';
import type { TaskCode } from '../../pool/task-pool.factory.js';
import type { LoadedHandlers, TaskHandler } from '../../thread/task-handlers.loader.js';
import type { ResolvedWorkerOptions } from '../../worker-options.resolver.js';

type NestModule = ModulesContainer extends Map<string, infer M> ? M : never;
type InstanceWrapper = NestModule['providers'] extends Map<unknown, infer W> ? W : never;

/**
 * The tasks a worker thread would have, taken from the application under
 * test instead: the `@Task()` methods of the providers the tasks module
 * reaches (the module and what it imports, as a thread's context holds
 * them), on the application's own instances; and the function tasks, as the
 * functions the application passed. A task the application declares outside
 * the tasks module is left out here as it is in a thread, so the test fails
 * at start-up as the application would.
 */
export function loadAppTasks(options: ResolvedWorkerOptions, modules: ModulesContainer): LoadedHandlers {
  const handlers = new Map<string, TaskHandler>();
  const ref = options.tasksModule;
  if (ref) {
    const providers = providersReachedFrom(modules, ref.module);
    if (providers === undefined) throw new WorkerBootError(Messages.inProcessTasksModuleNotImported(ref.module.name));
    const discovery = { getProviders: () => providers } as unknown as DiscoveryService;
    const explorer = new TaskExplorer(discovery, new MetadataScanner(), new TaskMetadataAccessor(new Reflector()));
    for (const task of explorer.explore().values()) {
      const { timeoutMs, maxAttempts, batch, backoff, schema, retryIf } = task.options;
      const instance = task.instance as Record<string, (payload: unknown, ctx: unknown) => unknown>;
      const method = task.method;
      handlers.set(task.name, {
        info: { name: task.name, declaredBy: task.declaredBy, timeoutMs, maxAttempts, batch, backoff },
        // Looked up at every call rather than bound once: a spy put on the
        // method after start-up (jest.spyOn(tasks, 'resize')) sees the call.
        fn: (payload, ctx) => instance[method]!(payload, ctx),
        schema,
        retryIf,
      });
    }
  }
  for (const fn of inProcessCode(options).functions) {
    const handler = options.functions.find((f) => f.name === fn.name)!.handler;
    handlers.set(fn.name, {
      info: { name: fn.name, declaredBy: describeFunctionTask(fn), ...fn.options },
      fn: handler as TaskHandler['fn'],
    });
  }
  return { handlers };
}

/**
 * Where the task code is, as messages name it. Not resolved on disk: the
 * in-process pool loads nothing, so a test runs from sources whether or not
 * the compiled tasks file exists.
 */
export function inProcessCode(options: ResolvedWorkerOptions): TaskCode {
  const ref = options.tasksModule;
  return {
    tasksModule: ref && {
      file: shown(ref.file),
      exportName: ref.exportName ?? ref.module.name,
      moduleName: ref.module.name,
    },
    functions: options.functions.map((fn) => ({
      name: fn.name,
      options: fn.options,
      file: shown(fn.file),
      exportName: fn.exportName ?? (fn.handler.name || 'default'),
    })),
  };
}

/**
 * Providers of `moduleClass` and of every module it imports, transitively;
 * undefined when the application does not import the module at all. Global
 * modules count as imported everywhere, as Nest binds them.
 */
function providersReachedFrom(modules: ModulesContainer, moduleClass: unknown): InstanceWrapper[] | undefined {
  const start = [...modules.values()].filter((module) => module.metatype === moduleClass);
  if (start.length === 0) return undefined;
  const seen = new Set<NestModule>(start);
  const queue = [...start];
  const providers: InstanceWrapper[] = [];
  for (let module = queue.shift(); module; module = queue.shift()) {
    providers.push(...module.providers.values());
    for (const imported of module.imports) {
      if (imported && !seen.has(imported)) {
        seen.add(imported);
        queue.push(imported);
      }
    }
  }
  return providers;
}

/** A file as the threads would name it: a path rather than a URL. */
function shown(file: string | URL): string {
  const text = String(file);
  return text.startsWith('file:') ? fileURLToPath(text) : text;
}
