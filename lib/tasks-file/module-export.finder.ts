import { Messages } from '../errors/error-messages.js';
import { TasksModuleLoadError } from '../errors/worker.errors.js';
import type { ModuleExports } from './module-exports.loader.js';

/**
 * Worker thread: the tasks module class exported by a loaded file, checked
 * against the name the main thread knows it by (the class itself cannot
 * cross threads, and the thread's copy is never the main thread's object).
 */
export function findTasksModule(exports: ModuleExports, file: string, exportName: string, moduleName: string): unknown {
  const value = exports.get(exportName);
  if (value === undefined) {
    throw new TasksModuleLoadError(Messages.tasksModuleExportMissing(file, exportName, exports.names()));
  }
  if (typeof value !== 'function' || value.name !== moduleName) {
    throw new TasksModuleLoadError(Messages.tasksModuleExportMismatch(file, exportName, moduleName, describe(value)));
  }
  return value;
}

/** Worker thread: a function task's handler, exported by a loaded file. */
export function findFunctionHandler(exports: ModuleExports, file: string, exportName: string, task: string): unknown {
  const value = exports.get(exportName);
  if (typeof value !== 'function') {
    throw new TasksModuleLoadError(
      Messages.functionExportMissing(
        task,
        file,
        exportName,
        exports.names(),
        value === undefined ? undefined : describe(value),
      ),
    );
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return value.name ? `the class or function ${value.name}` : 'an anonymous function';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
