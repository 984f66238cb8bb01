import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TaskExplorer } from './discovery/task.explorer.js';
import { TaskMetadataAccessor } from './discovery/task-metadata.accessor.js';
import { WorkerManager } from './worker.manager.js';
import { threadPoolFactory, WorkerOrchestrator } from './worker.orchestrator.js';
import { WORKER_POOL } from './pool/task-pool.factory.js';
import { ConfigurableModuleClass } from './worker.module-definition.js';

/**
 * Runs the application's `@Task()` handlers in a pool of worker threads.
 *
 * ```ts
 * WorkerModule.forRoot({ tasksModule: { module: HashTasksModule, file: new URL('./hash.tasks.js', import.meta.url) } })
 * WorkerModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c) => ({ ... }) })
 * ```
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    WorkerOrchestrator,
    WorkerManager,
    TaskExplorer,
    TaskMetadataAccessor,
    // Tests replace it with an in-process pool (nestjs-worker/testing).
    { provide: WORKER_POOL, useValue: threadPoolFactory },
  ],
  exports: [WorkerManager],
})
export class WorkerModule extends ConfigurableModuleClass {}
