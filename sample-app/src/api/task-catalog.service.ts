import { Injectable } from '@nestjs/common';
import { WorkerManager, type StandardSchemaLike } from 'nestjs-worker';
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
 * The tasks the worker threads run, with the options they were declared
 * with (`WorkerManager.tasks()`), so that the HTTP layer can refuse unknown
 * names (404) and bad payloads (400) before anything is enqueued. The
 * schemas are there because AppModule imports TasksModule too.
 */
@Injectable()
export class TaskCatalog {
  private entries?: Map<string, CatalogEntry>;

  constructor(private readonly workers: WorkerManager) {}

  get(name: string): CatalogEntry | undefined {
    return this.tasks().get(name);
  }

  names(): string[] {
    return [...this.tasks().keys()].sort();
  }

  list(): Array<Record<string, unknown>> {
    return this.names().map((name) => {
      const task = this.tasks().get(name)!;
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
    const schema = this.tasks().get(name)?.schema;
    if (!schema) return { ok: true, value: payload };
    const result = await schema['~standard'].validate(payload);
    if (result.issues) return { ok: false, problems: result.issues.map(formatIssue) };
    return { ok: true, value: result.value };
  }

  /** Built on first use: the list exists once the worker module has started. */
  private tasks(): Map<string, CatalogEntry> {
    this.entries ??= new Map(
      this.workers.tasks().map(({ name, declaredBy, options }) => [
        name,
        {
          name,
          declaredBy,
          timeoutMs: options.timeoutMs,
          maxAttempts: options.maxAttempts,
          schema: options.schema as CatalogEntry['schema'],
        },
      ]),
    );
    return this.entries;
  }
}
