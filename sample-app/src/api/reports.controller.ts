import { BadRequestException, Body, Controller, Headers, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { WorkerManager } from 'nestjs-worker';
import { formatIssue, int, object, optional, payloadSchema, type Infer } from '../common/schema.js';
import { MAX_ROWS, type ShardInput } from '../reports/report.tasks.js';
import { StatisticsService, type PartialReport } from '../reports/statistics.service.js';
import { payloadOf, taskFailure } from './http-errors.js';

const ShardedReportPayload = object({
  rows: optional(int({ min: 1, max: MAX_ROWS }), 1_000_000),
  seed: optional(int({ min: 0, max: 2 ** 31 - 1 }), 1),
  /** Pieces to split the rows in; twice the threads when left out. */
  shards: optional(int({ min: 1, max: 256 })),
});
const shardedReportSchema = payloadSchema(ShardedReportPayload);

/**
 * One report on every core: `map()` sends one shard per item to the threads
 * (in parallel, results in order), and the cheap merge happens here.
 */
@Controller('reports')
export class ReportsController {
  constructor(
    private readonly manager: WorkerManager,
    private readonly statistics: StatisticsService,
  ) {}

  @Post('sales')
  @HttpCode(HttpStatus.OK)
  async sales(
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Headers('content-length') contentLength: string | undefined,
  ) {
    const task = 'report.sales-shard';
    const checked = shardedReportSchema['~standard'].validate(payloadOf(task, body, contentType, contentLength));
    if ('issues' in checked && checked.issues) {
      const problems = checked.issues.map(formatIssue);
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: `Invalid body for POST /reports/sales: ${problems.join('; ')}.`,
        problems,
      });
    }
    const input = (checked as { value: Infer<typeof ShardedReportPayload> }).value;
    const shardCount = Math.min(input.rows, input.shards ?? this.manager.stats().workers.size * 2);
    const shards: ShardInput[] = Array.from({ length: shardCount }, (_, i) => ({
      seed: input.seed,
      from: Math.floor((input.rows * i) / shardCount),
      to: Math.floor((input.rows * (i + 1)) / shardCount),
    }));
    const started = performance.now();
    let partials: PartialReport[];
    try {
      // chunkSize 1: each shard is seconds of work, send them one by one.
      partials = await this.manager.map<PartialReport, ShardInput>(task, shards, { chunkSize: 1 });
    } catch (error) {
      throw taskFailure(task, error);
    }
    const merged = partials.reduce((all, part) => this.statistics.merge(all, part), this.statistics.emptyPartial());
    return {
      shards: shardCount,
      ms: Math.round(performance.now() - started),
      report: this.statistics.finish(merged, input.seed),
    };
  }
}
