/**
 * An HTTP app with WorkerDashboardModule over the health fixture tasks and
 * real threads. The test build is plain tsc output, which has no copy of the
 * page's files: they are copied next to it here, as scripts/build.mjs does
 * for the package (and grpc.support.ts does for the .proto).
 */
import 'reflect-metadata';
import { cpSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  Injectable,
  Module,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { NestFactory, type AbstractHttpAdapter } from '@nestjs/core';
import { InMemoryTaskClient, WorkerManager, WorkerModule, type TaskClientProvider } from '../../lib/index.js';
import { WorkerDashboardModule, type WorkerDashboardOptions } from '../../lib/dashboard.js';
import { HealthTasksModule, healthTasksFile } from '../fixtures/health/health.tasks.js';

cpSync(
  fileURLToPath(new URL('../../../lib/dashboard/page/', import.meta.url)),
  fileURLToPath(new URL('../../lib/dashboard/page/', import.meta.url)),
  { recursive: true },
);

export const DASHBOARD_TOKEN = 'let-me-in';

/** Admits a request with `authorization: Bearer let-me-in` or the cookie `dashboard=let-me-in`. */
@Injectable()
export class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const headers = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers;
    return (
      headers.authorization === `Bearer ${DASHBOARD_TOKEN}` ||
      (headers.cookie ?? '').split(/;\s*/).includes(`dashboard=${DASHBOARD_TOKEN}`)
    );
  }
}

export interface DashboardApp {
  app: INestApplication;
  manager: WorkerManager;
  /** The in-memory client, unless another was given. */
  client: InMemoryTaskClient;
  /** http://127.0.0.1:port */
  origin: string;
  close(): Promise<void>;
}

export async function bootDashboardApp(
  settings: {
    dashboard?: WorkerDashboardOptions;
    client?: TaskClientProvider;
    workers?: number;
    globalPrefix?: string;
    providers?: Type<unknown>[];
    /** Express (Nest's default) unless given, e.g. `new FastifyAdapter()`. */
    adapter?: AbstractHttpAdapter;
    /** More of an app around the dashboard (Terminus, routes that run tasks). */
    imports?: (Type<unknown> | DynamicModule)[];
    controllers?: Type<unknown>[];
  } = {},
): Promise<DashboardApp> {
  const client = new InMemoryTaskClient();

  @Module({
    imports: [
      HealthTasksModule,
      WorkerModule.forRoot({
        tasksModule: { module: HealthTasksModule, file: healthTasksFile },
        workers: settings.workers ?? 2,
        retry: { maxAttempts: 1 },
        client: settings.client ?? { useValue: client },
      }),
      WorkerDashboardModule.forRoot({ storePollMs: 250, intervalMs: 250, ...settings.dashboard }),
      ...(settings.imports ?? []),
    ],
    controllers: settings.controllers ?? [],
    providers: settings.providers ?? [],
  })
  class DashboardAppModule {}

  const options = { logger: false as const, abortOnError: false };
  const app = settings.adapter
    ? await NestFactory.create(DashboardAppModule, settings.adapter, options)
    : await NestFactory.create(DashboardAppModule, options);
  if (settings.globalPrefix) app.setGlobalPrefix(settings.globalPrefix);
  await app.listen(0, '127.0.0.1');
  let closed: Promise<void> | undefined;
  return {
    app,
    manager: app.get(WorkerManager),
    client,
    origin: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`,
    close: () => (closed ??= app.close()),
  };
}
