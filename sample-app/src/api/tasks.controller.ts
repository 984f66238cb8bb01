import {
  Body,
  ConflictException,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { WorkerManager, type EnqueueOptions } from 'nestjs-worker';
import { TaskStore } from '../task-source.module.js';
import { invalidPayload, payloadOf, unknownTask } from './http-errors.js';
import { TaskCatalog } from './task-catalog.service.js';

interface HeaderSetter {
  setHeader(name: string, value: string): void;
}

/**
 * Background tasks: enqueue now, read the outcome later. The task waits in
 * the task client (memory, PostgreSQL or Redis) until the worker loop hands it
 * to a thread; failures are retried with backoff; the outcome is kept.
 */
@Controller('tasks')
export class TasksController {
  constructor(
    private readonly catalog: TaskCatalog,
    private readonly store: TaskStore,
    private readonly manager: WorkerManager,
  ) {}

  /** Every task, with its limits and the payload it expects. */
  @Get()
  list() {
    return { backend: this.store.backend, tasks: this.catalog.list() };
  }

  @Post(':name')
  @HttpCode(HttpStatus.ACCEPTED)
  async enqueue(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Headers('content-length') contentLength: string | undefined,
    @Query('priority') priority: string | undefined,
    @Query('delayMs') delayMs: string | undefined,
    @Query('uniqueKey') uniqueKey: string | undefined,
    @Res({ passthrough: true }) res: HeaderSetter,
  ) {
    if (!this.catalog.get(name)) throw unknownTask(name, this.catalog.names());
    const checked = await this.catalog.validate(name, payloadOf(name, body, contentType, contentLength));
    if (!checked.ok) throw invalidPayload(name, checked.problems);
    const options: EnqueueOptions = {};
    if (priority !== undefined) options.priority = queryInt(name, 'priority', priority, -1000, 1000);
    if (delayMs !== undefined) options.delayMs = queryInt(name, 'delayMs', delayMs, 0, 86_400_000);
    // At most one such task waiting or running: a second POST returns the first one's id.
    if (uniqueKey !== undefined) options.uniqueKey = uniqueKey;
    // In memory, a task enqueued while the app shuts down would be lost with
    // the process: refuse it. A durable backend keeps it for the next start.
    if (this.store.backend === 'memory' && isStopping(this.manager)) {
      throw new ServiceUnavailableException(
        `The app is shutting down; task "${name}" was not enqueued. Retry against another instance.`,
      );
    }
    const id = await this.store.enqueue(name, checked.value, options);
    res.setHeader('Location', `/tasks/${encodeURIComponent(id)}`);
    return { id, name, state: 'queued', status: `/tasks/${encodeURIComponent(id)}` };
  }

  /** State, attempts, and the result (or the errors) once finished. */
  @Get(':id')
  async status(@Param('id') id: string) {
    const task = await this.store.get(id);
    if (!task)
      throw new NotFoundException(
        `No task with id "${id}"${this.store.backend === 'memory' ? ' (in-memory tasks are kept until 10000 newer ones have finished, and not across restarts)' : ''}.`,
      );
    return task;
  }

  /**
   * Cancels a task: a waiting one never runs; a running one has its
   * ctx.signal aborted, and its thread stopped after the grace period if it
   * does not stop (on whichever instance runs it).
   */
  @Delete(':id')
  async cancel(@Param('id') id: string) {
    if (await this.manager.cancel(id)) return { id, cancelled: true, status: `/tasks/${encodeURIComponent(id)}` };
    const task = await this.store.get(id);
    if (!task) throw new NotFoundException(`No task with id "${id}".`);
    throw new ConflictException(
      `Task "${id}" is ${task.state}: only a queued, delayed or running task can be cancelled.`,
    );
  }
}

function isStopping(manager: WorkerManager): boolean {
  const loop = manager.stats().loop;
  return loop === 'stopping' || loop === 'stopped';
}

function queryInt(task: string, key: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidPayload(task, [`query parameter ${key} must be an integer from ${min} to ${max}, got "${raw}"`]);
  }
  return value;
}
