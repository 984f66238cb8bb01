import { Injectable, Scope } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { TaskOptions } from '../interfaces/task-options.interface.js';
import { DuplicateTaskError, ScopedTaskProviderError } from '../errors/worker.errors.js';
import { TaskMetadataAccessor } from './task-metadata.accessor.js';

/** A `@Task()` method found on a provider instance. */
export interface DiscoveredTask {
  readonly name: string;
  readonly options: TaskOptions;
  /** `ReportTasks.render (ReportsModule)`: where it was declared, for messages. */
  readonly declaredBy: string;
  readonly handler: (payload: unknown, ctx: unknown) => unknown;
  /** The provider instance and the method's name, for callers that must look the method up at each call (spies). */
  readonly instance: object;
  readonly method: string;
}

/**
 * Finds `@Task()` methods on the providers of an application context. Used by
 * the main thread (to check the threads' registry at bootstrap) and by every
 * worker thread (to build the registry it runs tasks from).
 */
@Injectable()
export class TaskExplorer {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: TaskMetadataAccessor,
  ) {}

  explore(): Map<string, DiscoveredTask> {
    const tasks = new Map<string, DiscoveredTask>();
    for (const wrapper of this.discovery.getProviders()) {
      if (wrapper.isAlias) continue;
      const isStatic = wrapper.isDependencyTreeStatic();
      // A request-scoped provider has no instance yet: read its class prototype
      // so that it can be refused with a clear message.
      const target: object | undefined = isStatic
        ? (wrapper.instance as object | undefined)
        : (wrapper.metatype as { prototype?: object } | undefined)?.prototype;
      if (!target || typeof target !== 'object') continue;
      const prototype = isStatic ? Object.getPrototypeOf(target) : target;
      if (!prototype || prototype === Object.prototype) continue;
      const className = (wrapper.metatype as { name?: string } | undefined)?.name || String(wrapper.name);
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const metadata = this.accessor.getTaskMetadata((prototype as Record<string, unknown>)[method]);
        if (!metadata) continue;
        if (!isStatic) {
          throw new ScopedTaskProviderError(className, scopeName(wrapper.scope));
        }
        const declaredBy = `${className}.${method} (${wrapper.host?.metatype?.name ?? 'unknown module'})`;
        const existing = tasks.get(metadata.name);
        if (existing) {
          throw new DuplicateTaskError(metadata.name, existing.declaredBy, declaredBy);
        }
        const instance = target as Record<string, (...args: unknown[]) => unknown>;
        tasks.set(metadata.name, {
          name: metadata.name,
          options: metadata.options,
          declaredBy,
          handler: instance[method]!.bind(instance),
          instance,
          method,
        });
      }
    }
    return tasks;
  }
}

function scopeName(scope: Scope | undefined): string {
  if (scope === Scope.REQUEST) return 'request-scoped';
  if (scope === Scope.TRANSIENT) return 'transient';
  return 'not statically resolvable (it depends on a request-scoped provider)';
}
