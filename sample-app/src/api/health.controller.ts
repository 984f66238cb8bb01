import { Controller, Get, type OnModuleDestroy } from '@nestjs/common';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { WorkerManager } from 'nestjs-worker';
import { WorkerHealthIndicator } from 'nestjs-worker/terminus';
import { TaskStore } from '../task-source.module.js';

/**
 * Answers at once, whatever the threads are doing: nothing here waits for a
 * worker. `eventLoopDelayMs` shows what offloading buys: it stays near zero
 * while every thread is busy.
 */
@Controller('health')
export class HealthController implements OnModuleDestroy {
  private static readonly RESOLUTION_MS = 10;
  private readonly delay = monitorEventLoopDelay({ resolution: HealthController.RESOLUTION_MS });
  private readonly startedAt = Date.now();

  constructor(
    private readonly manager: WorkerManager,
    private readonly store: TaskStore,
    private readonly indicator: WorkerHealthIndicator,
    private readonly terminus: HealthCheckService,
  ) {
    this.delay.enable();
  }

  @Get()
  async health() {
    // The histogram holds time between samples: the sampling interval plus the lag.
    const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - HealthController.RESOLUTION_MS) * 10) / 10);
    // Lag of the event loop since the previous /health call (or the start).
    const eventLoopDelayMs = {
      p50: ms(this.delay.percentile(50)),
      p99: ms(this.delay.percentile(99)),
      max: ms(this.delay.max),
    };
    this.delay.reset();
    const counts = await this.store.counts();
    // The indicator's verdict (threads alive and booting, not stuck, store answering); /health/ready answers 503 on it.
    const check = (await this.indicator.isHealthy('workers')).workers;
    return {
      status: 'ok',
      check: { status: check.status, ...(check.status === 'down' ? { message: check.message } : {}) },
      backend: this.store.backend,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      eventLoopDelayMs,
      workers: this.manager.stats(),
      ...(counts ? { tasks: counts } : {}),
    };
  }

  /** For an orchestrator's probe: Terminus's answer, 503 when the worker pool is down. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.terminus.check([() => this.indicator.isHealthy('workers')]);
  }

  onModuleDestroy(): void {
    this.delay.disable();
  }
}
