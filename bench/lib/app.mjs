/** Boots a Nest application context with our module over the bench tasks. */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerManager, WorkerModule } from 'nestjs-worker';
import { fixture } from './paths.mjs';

export const tasksFile = fixture('bench.tasks.js');

/**
 * `tasksModule`: the export of bench.tasks to boot (`KeyedBenchTasksModule` adds tasks with concurrency keys);
 * `imports`: more modules for the application (e.g. WorkerTelemetryModule).
 */
export async function bootApp({
  workers = 2,
  client,
  tasksModule = 'BenchTasksModule',
  imports = [],
  ...options
} = {}) {
  const { [tasksModule]: BenchTasksModule } = await import(tasksFile.href);
  class BenchAppModule {}
  Module({
    imports: [
      BenchTasksModule,
      WorkerModule.forRoot({
        tasksModule: { module: BenchTasksModule, file: tasksFile },
        workers,
        ...options,
        ...(client ? { client } : {}),
      }),
      ...imports,
    ],
  })(BenchAppModule);
  const app = await NestFactory.createApplicationContext(BenchAppModule, {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  return { app, wm: app.get(WorkerManager) };
}
