import { Body, Controller, Headers, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { WorkerManager } from 'nestjs-worker';
import { invalidPayload, payloadOf, taskFailure, unknownTask } from './http-errors.js';
import { TaskCatalog } from './task-catalog.service.js';

interface ResponseLike {
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
  readonly writableFinished: boolean;
}

/**
 * Synchronous offload: the request waits for the task, the event loop does
 * not. `await manager.run()` parks this request while a worker thread does
 * the work; meanwhile this thread keeps serving every other request.
 */
@Controller('run')
export class RunController {
  constructor(
    private readonly catalog: TaskCatalog,
    private readonly manager: WorkerManager,
  ) {}

  @Post(':name')
  @HttpCode(HttpStatus.OK)
  async run(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Headers('content-length') contentLength: string | undefined,
    @Query('timeoutMs') timeoutMs: string | undefined,
    @Res({ passthrough: true }) res: ResponseLike,
  ) {
    if (!this.catalog.get(name)) throw unknownTask(name, this.catalog.names());
    const checked = await this.catalog.validate(name, payloadOf(name, body, contentType, contentLength));
    if (!checked.ok) throw invalidPayload(name, checked.problems);
    let limit: number | undefined;
    if (timeoutMs !== undefined) {
      limit = Number(timeoutMs);
      if (!Number.isInteger(limit) || limit < 1 || limit > 300_000)
        throw invalidPayload(name, [
          `query parameter timeoutMs must be an integer from 1 to 300000, got "${timeoutMs}"`,
        ]);
    }
    // A client that hangs up cancels its task: dropped if still queued,
    // its thread stopped (and replaced) if already running.
    const abandoned = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abandoned.abort(new Error('The HTTP client disconnected.'));
    };
    res.once('close', onClose);
    const started = performance.now();
    try {
      const result = await this.manager.run(name, checked.value, {
        signal: abandoned.signal,
        ...(limit ? { timeoutMs: limit } : {}),
      });
      return { task: name, ms: Math.round(performance.now() - started), result };
    } catch (error) {
      throw taskFailure(name, error);
    } finally {
      res.off('close', onClose);
    }
  }
}
