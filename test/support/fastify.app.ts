/**
 * The dashboard app (dashboard.app.ts) on @nestjs/platform-fastify instead of
 * Express, below the global prefix /api, with Terminus at /api/health
 * (health.app.ts's controller) and a route that hands its work to the pool:
 * everything a Fastify user of the library touches over HTTP, in one app
 * with real threads.
 */
import 'reflect-metadata';
import { Controller, Get, Inject, ParseIntPipe, Query } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TerminusModule } from '@nestjs/terminus';
import { WorkerManager } from '../../lib/index.js';
import { WorkerHealthIndicator, type WorkerHealthOptions } from '../../lib/terminus.js';
import { bootDashboardApp, TokenGuard, type DashboardApp } from './dashboard.app.js';
import { healthController } from './health.app.js';

/** GET /api/offload?n=: the app's own route whose work runs on a worker thread. */
@Controller('offload')
class OffloadController {
  constructor(@Inject(WorkerManager) private readonly workers: WorkerManager) {}

  @Get()
  async offload(@Query('n', ParseIntPipe) n: number): Promise<{ result: number }> {
    return { result: await this.workers.run<number>('health.ok', { n }) };
  }
}

export interface FastifyApp extends DashboardApp {
  /** Thresholds GET /health passes to the indicator; change them between requests. */
  health: WorkerHealthOptions;
}

export async function bootFastifyApp(): Promise<FastifyApp> {
  const health: WorkerHealthOptions = {};
  const app = await bootDashboardApp({
    adapter: new FastifyAdapter(),
    globalPrefix: 'api',
    dashboard: { guard: TokenGuard },
    imports: [TerminusModule.forRoot({ logger: false })],
    controllers: [healthController(health), OffloadController],
    providers: [WorkerHealthIndicator],
  });
  return { ...app, health };
}
