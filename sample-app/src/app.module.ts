import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { WorkerDashboardModule } from 'nestjs-worker/dashboard';
import { WorkerTelemetryModule } from 'nestjs-worker/otel';
import { WorkerHealthIndicator } from 'nestjs-worker/terminus';
import { HealthController } from './api/health.controller.js';
import { HttpDrain } from './api/http-drain.js';
import { ReportsController } from './api/reports.controller.js';
import { RunController } from './api/run.controller.js';
import { TaskCatalog } from './api/task-catalog.service.js';
import { TasksController } from './api/tasks.controller.js';
import { TaskSourceModule } from './task-source.module.js';
import { TasksModule } from './tasks.module.js';
import { consoleTracing } from './observability/console-tracing.js';
import { DashboardAuthGuard } from './observability/dashboard-auth.guard.js';

/**
 * The HTTP application (main thread only). It imports TasksModule too: its
 * providers are how the API knows each task's payload schema, and
 * ReportsController merges shards with its StatisticsService. The worker
 * threads boot TasksModule alone.
 */
@Module({
  imports: [
    DiscoveryModule,
    TaskSourceModule.fromEnv(),
    TasksModule,
    TerminusModule,
    // GET /workers: the live dashboard; its actions for "admin" with DASHBOARD_PASSWORD, none without it.
    WorkerDashboardModule.forRoot({
      path: 'workers',
      ...(process.env.DASHBOARD_PASSWORD ? { guard: DashboardAuthGuard, readGuard: DashboardAuthGuard } : {}),
    }),
    // OTEL_CONSOLE=1: a span per task attempt, printed by the SDK console-tracing.ts registers.
    ...(consoleTracing ? [WorkerTelemetryModule.forRoot()] : []),
  ],
  controllers: [HealthController, TasksController, RunController, ReportsController],
  providers: [TaskCatalog, HttpDrain, WorkerHealthIndicator],
})
export class AppModule {}
