import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { TASK_METADATA, type StandardSchemaLike, type TaskMetadata } from 'nestjs-worker';
import { formatIssue } from '../common/schema.js';

export interface CatalogEntry {
  readonly name: string;
  readonly declaredBy: string;
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  readonly schema?: StandardSchemaLike & { describe?: unknown };
}

export type Validation = { ok: true; value: unknown } | { ok: false; problems: string[] };

/**
 * The tasks this app declares, found the way the library finds them (the
 * `@Task()` metadata on the providers of TasksModule, which AppModule
 * imports), so that the HTTP layer can refuse unknown names (404) and bad
 * payloads (400) before anything is enqueued.
 */
@Injectable()
export class TaskCatalog implements OnModuleInit {
  private readonly tasks = new Map<string, CatalogEntry>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const metadata = this.reflector.get<TaskMetadata | undefined>(
          TASK_METADATA,
          prototype[method] as () => unknown,
        );
        if (!metadata) continue;
        const { timeoutMs, maxAttempts, schema } = metadata.options;
        this.tasks.set(metadata.name, {
          name: metadata.name,
          declaredBy: `${instance.constructor.name}.${method}`,
          timeoutMs,
          maxAttempts,
          schema: schema as CatalogEntry['schema'],
        });
      }
    }
  }

  get(name: string): CatalogEntry | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }

  list(): Array<Record<string, unknown>> {
    return this.names().map((name) => {
      const task = this.tasks.get(name)!;
      return {
        name,
        declaredBy: task.declaredBy,
        timeoutMs: task.timeoutMs ?? 0,
        maxAttempts: task.maxAttempts,
        payload: task.schema?.describe,
      };
    });
  }

  /** Runs the task's schema (the one its worker thread runs too) on a payload. */
  async validate(name: string, payload: unknown): Promise<Validation> {
    const schema = this.tasks.get(name)?.schema;
    if (!schema) return { ok: true, value: payload };
    const result = await schema['~standard'].validate(payload);
    if (result.issues) return { ok: false, problems: result.issues.map(formatIssue) };
    return { ok: true, value: result.value };
  }
}
