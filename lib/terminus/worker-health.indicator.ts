import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { describeThrown } from '../clients/kit/json.encoder.js';
import type { TaskClient } from '../interfaces/task-client.interface.js';
import type { TaskStore } from '../interfaces/task-store.interface.js';
import type { WorkerStats } from '../interfaces/worker-stats.interface.js';
import { TASK_CLIENT } from '../worker.constants.js';
import { WorkerManager } from '../worker.manager.js';
import { resolveHealthOptions, type WorkerHealthOptions } from './worker-health-options.interface.js';

/**
 * A `@nestjs/terminus` health indicator for the worker pool. Down when the
 * pool has not started or is closing, when fewer threads than
 * `minAliveThreads` are alive, when replacement threads fail to boot, when
 * tasks wait or run and none finished for `stuckAfterMs`, or when the task
 * client's store does not answer. Up otherwise, with the pool's figures.
 *
 * ```ts
 * @Module({ imports: [TerminusModule], providers: [WorkerHealthIndicator], controllers: [HealthController] })
 * // in the controller:
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.workers.isHealthy('workers', { stuckAfterMs: 120_000 })]); }
 * ```
 *
 * Stuck and boot-failure detection compare figures between checks: they
 * need the health endpoint to be called regularly (as an orchestrator's
 * probe does).
 */
@Injectable()
export class WorkerHealthIndicator {
  /** Attempts finished at the last check, and when that number last moved. */
  private progress = { finished: -1, at: 0 };
  /** Boot failures counted at the last check, and when the count last grew. */
  private boots = { count: 0, at: 0 };

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly workers: WorkerManager,
    @Optional() @Inject(TASK_CLIENT) private readonly client?: TaskClient,
  ) {}

  async isHealthy<const Key extends string = 'workers'>(
    key: Key = 'workers' as Key,
    options: WorkerHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const settings = resolveHealthOptions(options);
    const session = this.health.check(key);
    let stats: WorkerStats;
    try {
      stats = this.workers.stats();
    } catch (error) {
      return session.down({ message: `The worker pool is not running: ${describeThrown(error)}` });
    }
    const now = Date.now();
    const figures = {
      threads: { size: stats.workers.size, alive: stats.workers.alive },
      queued: stats.queued,
      running: stats.running,
      utilization: Math.round(stats.workers.utilization * 1000) / 1000,
      loop: stats.loop,
    };
    const problems: string[] = [];
    if (stats.loop === 'stopping' || stats.loop === 'stopped') problems.push(`the worker loop is ${stats.loop}`);
    if (stats.workers.alive < settings.minAliveThreads) {
      problems.push(
        stats.workers.alive === 0
          ? 'no worker thread is alive'
          : `${stats.workers.alive} of ${stats.workers.size} worker threads are alive (minimum ${settings.minAliveThreads})`,
      );
    }
    if (stats.workers.bootFailures > this.boots.count) this.boots = { count: stats.workers.bootFailures, at: now };
    if (settings.bootFailureWindowMs > 0 && this.boots.at > 0 && now - this.boots.at <= settings.bootFailureWindowMs) {
      problems.push(
        `worker threads cannot boot their Nest context (${this.boots.count} failed since start, the last ${Math.round((now - this.boots.at) / 1000)} s ago; see the log)`,
      );
    }
    // The store is asked first: tasks ready in it while the loop runs are work
    // waiting too (a loop whose fetch hangs leaves the pool idle and them there).
    const store = settings.storeTimeoutMs > 0 ? await this.checkStore(settings.storeTimeoutMs) : undefined;
    if (store && store.error) problems.push(`the task store does not answer: ${store.error}`);
    const readyInStore = stats.loop === 'running' ? (store?.queued ?? 0) : 0;
    const finished = stats.completed + stats.failed;
    const busy = stats.queued + stats.running + readyInStore > 0;
    if (finished !== this.progress.finished || !busy) this.progress = { finished, at: now };
    else if (settings.stuckAfterMs > 0 && now - this.progress.at >= settings.stuckAfterMs) {
      problems.push(
        `stuck: ${stats.running} running, ${stats.queued} queued in the pool${readyInStore ? ` and ${readyInStore} ready in the store` : ''}, and no task finished for ${Math.round((now - this.progress.at) / 1000)} s`,
      );
    }
    const data = { ...figures, ...(store ? { store: store.error ? 'down' : 'up' } : {}) };
    return problems.length === 0 ? session.up(data) : session.down({ message: problems.join('; '), ...data });
  }

  /** Whether the store answered `counts()` within `timeoutMs` (and its ready tasks), or why not; undefined without `counts()`. */
  private async checkStore(timeoutMs: number): Promise<{ queued?: number; error?: string } | undefined> {
    const store = this.client as (TaskClient & Partial<TaskStore>) | undefined;
    if (typeof store?.counts !== 'function') return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const counts = await Promise.race([
        Promise.resolve().then(() => store.counts!()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { queued: typeof counts?.queued === 'number' ? counts.queued : 0 };
    } catch (error) {
      return { error: describeThrown(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
