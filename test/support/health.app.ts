/** An HTTP app with Terminus and WorkerHealthIndicator at GET /health, over the health fixture tasks. */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Inject, Module, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { WorkerManager, WorkerModule, type TaskClientProvider } from '../../lib/index.js';
import { WorkerHealthIndicator, type WorkerHealthOptions } from '../../lib/terminus.js';
import { HealthTasksModule, healthTasksFile } from '../fixtures/health/health.tasks.js';

export interface HealthApp {
  app: INestApplication;
  manager: WorkerManager;
  indicator: WorkerHealthIndicator;
  /** Thresholds the /health route passes to the indicator; change them between requests. */
  options: WorkerHealthOptions;
  /** GET /health: the HTTP status and the body. */
  health(): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** GET /health: Terminus with WorkerHealthIndicator, given `options` as they are at each request. */
export function healthController(options: WorkerHealthOptions): Type<unknown> {
  @Controller('health')
  class HealthController {
    constructor(
      @Inject(HealthCheckService) private readonly health: HealthCheckService,
      @Inject(WorkerHealthIndicator) private readonly workers: WorkerHealthIndicator,
    ) {}

    @Get()
    @HealthCheck()
    check() {
      return this.health.check([() => this.workers.isHealthy('workers', options)]);
    }
  }
  return HealthController;
}

export async function bootHealthApp(
  settings: { client?: TaskClientProvider; workers?: number; options?: WorkerHealthOptions } = {},
): Promise<HealthApp> {
  const options: WorkerHealthOptions = { ...settings.options };
  const HealthController = healthController(options);

  @Module({
    imports: [
      TerminusModule.forRoot({ logger: false }),
      HealthTasksModule,
      WorkerModule.forRoot({
        tasksModule: { module: HealthTasksModule, file: healthTasksFile },
        workers: settings.workers ?? 1,
        ...(settings.client ? { client: settings.client } : {}),
      }),
    ],
    controllers: [HealthController],
    providers: [WorkerHealthIndicator],
  })
  class HealthAppModule {}

  const app = await NestFactory.create(HealthAppModule, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  return {
    app,
    manager: app.get(WorkerManager),
    indicator: app.get(WorkerHealthIndicator),
    options,
    async health() {
      const response = await fetch(`${base}/health`);
      return { status: response.status, body: await response.json() };
    },
    close: () => (closed ??= app.close()),
  };
}
