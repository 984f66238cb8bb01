import { Module } from '@nestjs/common';
import type { TasksModuleRef } from 'nestjs-worker';
import { CompressionModule } from './compression/compression.module.js';
import { HashingModule } from './hashing/hashing.module.js';
import { ReportsModule } from './reports/reports.module.js';
import { ThumbnailsModule } from './thumbnails/thumbnails.module.js';

/**
 * What every worker thread boots: the feature modules with their `@Task()`
 * providers and the services those inject. Nothing else: no HTTP
 * controllers, no task client, no WorkerModule. A thread that starts faster
 * and holds less memory, and no HTTP server started by accident in a thread.
 */
@Module({
  imports: [ThumbnailsModule, HashingModule, CompressionModule, ReportsModule],
  exports: [ReportsModule],
})
export class TasksModule {}

/** For `WorkerModule.forRoot({ tasksModule })`: the threads import this very file (its compiled .js). */
export const tasksModuleRef: TasksModuleRef = { module: TasksModule, file: import.meta.url };
