import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HealthController } from './api/health.controller.js';
import { HttpDrain } from './api/http-drain.js';
import { ReportsController } from './api/reports.controller.js';
import { RunController } from './api/run.controller.js';
import { TaskCatalog } from './api/task-catalog.service.js';
import { TasksController } from './api/tasks.controller.js';
import { TaskSourceModule } from './task-source.module.js';
import { TasksModule } from './tasks.module.js';

/**
 * The HTTP application (main thread only). It imports TasksModule too: its
 * providers are how the API knows each task's payload schema, and
 * ReportsController merges shards with its StatisticsService. The worker
 * threads boot TasksModule alone.
 */
@Module({
  imports: [DiscoveryModule, TaskSourceModule.fromEnv(), TasksModule],
  controllers: [HealthController, TasksController, RunController, ReportsController],
  providers: [TaskCatalog, HttpDrain],
})
export class AppModule {}
