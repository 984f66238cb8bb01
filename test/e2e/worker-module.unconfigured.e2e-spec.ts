/**
 * WorkerModule imported without forRoot(): our error, naming the modules
 * that import it so and the fix, where Nest alone says that
 * WORKER_MODULE_OPTIONS cannot be resolved.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { WorkerManager, WorkerModule, WorkerModuleNotConfiguredError } from '../../lib/index.js';
import { ChaosTasksModule } from '../fixtures/chaos.tasks.js';
import { chaosTasksFile, rejectionOf } from '../support/app.js';

const quiet = { log() {}, warn() {}, error() {} };

function boot(module: unknown) {
  return NestFactory.createApplicationContext(module as never, { logger: false, abortOnError: false });
}

describe('WorkerModule imported without forRoot()', () => {
  it('says which module imports it and how to configure it', async () => {
    @Module({ imports: [ChaosTasksModule, WorkerModule] })
    class AppModule {}

    const error = await rejectionOf(boot(AppModule));
    assert.ok(error instanceof WorkerModuleNotConfiguredError, `${error.name}: ${error.message}`);
    assert.equal(error.code, 'ERR_WORKER_NOT_CONFIGURED');
    assert.deepEqual(error.importers, ['AppModule']);
    assert.match(error.message, /^WorkerModule is imported without options by AppModule\. /);
    assert.match(error.message, /WorkerModule\.forRoot\(\{ tasksModule: \{ module: TasksModule, file: /);
    assert.match(error.message, /WorkerModule\.forRootAsync\(\{ imports, inject, useFactory \}\)/);
    assert.doesNotMatch(error.message, /WORKER_MODULE_OPTIONS|can't resolve/i);
  });

  it('says to drop the plain import when forRoot() is there already (a feature module importing it for WorkerManager)', async () => {
    @Injectable()
    class ReportsService {
      constructor(readonly manager: WorkerManager) {}
    }
    @Module({ imports: [WorkerModule], providers: [ReportsService] })
    class ReportsModule {}
    @Module({
      imports: [
        ChaosTasksModule,
        ReportsModule,
        WorkerModule.forRoot({ tasksModule: { module: ChaosTasksModule, file: chaosTasksFile }, workers: 1 }),
      ],
    })
    class AppModule {}

    const error = await rejectionOf(boot(AppModule));
    assert.ok(error instanceof WorkerModuleNotConfiguredError, `${error.name}: ${error.message}`);
    assert.deepEqual(error.importers, ['ReportsModule']);
    assert.match(
      error.message,
      /^WorkerModule is imported without options by ReportsModule, besides the application's WorkerModule\.forRoot\(\): .* Remove WorkerModule from the imports of ReportsModule: WorkerModule\.forRoot\(\) is global/,
    );
  });

  it('fails the same way in a testing module, at compile()', async () => {
    @Module({ imports: [WorkerModule] })
    class AppModule {}

    const error = await rejectionOf(
      Test.createTestingModule({ imports: [AppModule] })
        .setLogger(quiet)
        .compile(),
    );
    assert.ok(error instanceof WorkerModuleNotConfiguredError, `${error.name}: ${error.message}`);
    assert.deepEqual(error.importers, ['AppModule']);
  });
});
