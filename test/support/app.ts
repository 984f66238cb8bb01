/** Boots real Nest applications with real worker threads for the e2e suites. */
import 'reflect-metadata';
import { Module, type INestApplicationContext, type LogLevel, type ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerManager, WorkerModule, type WorkerModuleExtras, type WorkerModuleOptions } from '../../lib/index.js';
import { ChaosTasksModule } from '../fixtures/chaos.tasks.js';

export const chaosTasksFile = new URL('../fixtures/chaos.tasks.js', import.meta.url);

export interface BootOptions {
  worker?: WorkerModuleOptions & Partial<WorkerModuleExtras>;
  imports?: ModuleMetadata['imports'];
  providers?: ModuleMetadata['providers'];
  logger?: LogLevel[] | false;
}

export interface BootedApp {
  app: INestApplicationContext;
  manager: WorkerManager;
  close(): Promise<void>;
}

/** An app importing ChaosTasksModule and WorkerModule.forRoot() over it (2 workers unless told). */
export async function bootChaosApp(options: BootOptions = {}): Promise<BootedApp> {
  const { client, isGlobal, ...worker } = options.worker ?? {};
  @Module({
    imports: [
      ChaosTasksModule,
      ...(options.imports ?? []),
      WorkerModule.forRoot({
        tasksModule: { module: ChaosTasksModule, file: chaosTasksFile },
        workers: 2,
        ...worker,
        ...(client ? { client } : {}),
        ...(isGlobal !== undefined ? { isGlobal } : {}),
      }),
    ],
    providers: options.providers ?? [],
  })
  class ChaosAppModule {}
  return boot(ChaosAppModule, options.logger);
}

export async function boot(module: unknown, logger: LogLevel[] | false = ['error']): Promise<BootedApp> {
  const app = await NestFactory.createApplicationContext(module as never, { logger, abortOnError: false });
  const manager = app.get(WorkerManager);
  let closed: Promise<void> | undefined;
  return { app, manager, close: () => (closed ??= app.close()) };
}

/** Resolves with the rejection of `promise`, failing when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & Record<string, any>> {
  let result: unknown;
  try {
    result = await promise;
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  // A boot expected to fail that started instead: close it, or its threads
  // keep the test process alive past the failure.
  await (result as { close?: () => Promise<unknown> } | undefined)?.close?.();
  throw new Error('expected a rejection, got a result');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
