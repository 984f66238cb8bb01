import type { ModulesContainer } from '@nestjs/core';
import { WorkerModuleNotConfiguredError } from './errors/worker.errors.js';
import { WORKER_POOL } from './pool/task-pool.factory.js';
import { WORKER_MODULE_OPTIONS } from './worker.module-definition.js';

/**
 * The error for a `WorkerModule` imported as the bare class, without
 * `forRoot()`, where Nest alone would report that WORKER_MODULE_OPTIONS
 * cannot be resolved. Names the modules that import it so, and says whether
 * the application has a configured `WorkerModule.forRoot()` besides (the bare
 * import then only makes a second copy, without options).
 */
export function unconfiguredModuleError(modules: ModulesContainer): WorkerModuleNotConfiguredError {
  const all = [...modules.values()];
  // Every copy of WorkerModule provides WORKER_POOL; only those of forRoot() have options.
  const copies = all.filter((module) => module.providers.has(WORKER_POOL));
  const bare = new Set(copies.filter((module) => !module.providers.has(WORKER_MODULE_OPTIONS)));
  const importers = all
    .filter((module) => [...module.imports].some((imported) => bare.has(imported)))
    .map((module) => module.metatype?.name ?? 'a module');
  return new WorkerModuleNotConfiguredError(importers, copies.length > bare.size);
}
