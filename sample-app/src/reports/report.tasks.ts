import { Injectable } from '@nestjs/common';
import { Task, type TaskContext } from 'nestjs-worker';
import { int, object, optional, payloadSchema, type Infer } from '../common/schema.js';
import { SalesDataService, type Sale } from './sales-data.service.js';
import { StatisticsService, type PartialReport, type SalesReport } from './statistics.service.js';

export const MAX_ROWS = 20_000_000;

const SalesReportPayload = object({
  /** Orders to aggregate; a million take about 0.2 s of one core. */
  rows: optional(int({ min: 1, max: MAX_ROWS }), 1_000_000),
  seed: optional(int({ min: 0, max: 2 ** 31 - 1 }), 1),
  /** Demo: make the first N attempts throw, to watch the retries (see GET /tasks/:id). */
  simulateFailures: optional(int({ min: 0, max: 5 }), 0),
});
const ShardPayload = object(
  {
    seed: int({ min: 0, max: 2 ** 31 - 1 }),
    from: int({ min: 0, max: MAX_ROWS }),
    to: int({ min: 0, max: MAX_ROWS }),
  },
  [(p) => (p.from > p.to ? `"from" (${p.from}) is after "to" (${p.to})` : undefined)],
);
export const salesReportSchema = payloadSchema(SalesReportPayload);
export const salesShardSchema = payloadSchema(ShardPayload);
export type ShardInput = Infer<typeof ShardPayload>;

/**
 * A statistics report over generated sales data: one task for the whole
 * report (queued, with timeout and retries), and one per shard for
 * `WorkerManager.map()` (POST /reports/sales spreads the shards over every
 * thread and merges them).
 */
@Injectable()
export class ReportTasks {
  constructor(
    private readonly data: SalesDataService,
    private readonly statistics: StatisticsService,
  ) {}

  // Reports read a database in real life: a transient failure deserves
  // retries, 3 attempts with 0.5 s, 1 s between them. And 60 s at most each.
  @Task('report.sales', {
    schema: salesReportSchema,
    timeoutMs: 60_000,
    maxAttempts: 3,
    backoff: { initialMs: 500, factor: 2, jitter: 'none' },
  })
  salesReport(input: Infer<typeof SalesReportPayload>, ctx: TaskContext): SalesReport {
    if (ctx.attempt <= input.simulateFailures) {
      throw new Error(`Simulated failure of attempt ${ctx.attempt} (simulateFailures: ${input.simulateFailures}).`);
    }
    const partial = this.aggregate(input.seed, 0, input.rows, ctx);
    return this.statistics.finish(partial, input.seed);
  }

  @Task('report.sales-shard', { schema: salesShardSchema, timeoutMs: 60_000 })
  salesShard(input: ShardInput): PartialReport {
    return this.aggregate(input.seed, input.from, input.to);
  }

  // One synchronous JavaScript loop. ctx.signal cannot help here: its timer
  // needs the thread's event loop, which this loop holds. The time limit is
  // enforced from outside: past timeoutMs the pool terminates the thread (at
  // once: V8 can interrupt JavaScript anywhere) and starts a new one.
  // Progress (GET /tasks/:id shows it) every 64k rows: ctx.progress() is
  // throttled in the thread, so calling it often costs next to nothing.
  // Cancelling (DELETE /tasks/:id) stops this loop the same way a timeout does.
  private aggregate(seed: number, from: number, to: number, ctx?: TaskContext): PartialReport {
    const partial = this.statistics.emptyPartial();
    const sale: Sale = { region: 0, category: 0, month: 0, quantity: 0, amountCents: 0 };
    for (let i = from; i < to; i++) {
      this.statistics.add(partial, this.data.row(seed, i, sale));
      if (ctx && (i & 0xffff) === 0) ctx.progress({ rows: i - from, of: to - from });
    }
    ctx?.progress({ rows: to - from, of: to - from });
    return partial;
  }
}
