// Shared by the ESM and the CommonJS consumers: nestjs-worker/terminus with
// the consumer's own @nestjs/terminus major, and nestjs-worker/dashboard
// serving its page (read from the package's dist) on the consumer's Express.
import 'reflect-metadata';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { WorkerModule } from 'nestjs-worker';
import { WorkerDashboardModule } from 'nestjs-worker/dashboard';
import { WorkerHealthIndicator } from 'nestjs-worker/terminus';
import { HashTasksModule } from './tasks.js';

@Module({
  imports: [
    TerminusModule,
    HashTasksModule,
    // process.argv[1] is this file in both module systems (no __dirname in ESM, no import.meta in CommonJS).
    WorkerModule.forRoot({
      tasksModule: { module: HashTasksModule, file: join(dirname(process.argv[1]!), 'tasks.js') },
      workers: 1,
    }),
    WorkerDashboardModule.forRoot({ path: 'workers' }),
  ],
  providers: [WorkerHealthIndicator],
})
class HealthAppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(HealthAppModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const health = await app.get(WorkerHealthIndicator).isHealthy('workers');
  const page = await fetch(`http://127.0.0.1:${port}/workers`);
  const html = await page.text();
  const script = await fetch(`http://127.0.0.1:${port}/workers/assets/dashboard.js`);
  console.log(
    JSON.stringify({
      health: health.workers.status,
      alive: (health.workers as { threads?: { alive: number } }).threads?.alive,
      page: page.status,
      base: /data-base="\/workers"/.test(html),
      script: script.status,
    }),
  );
  await app.close();
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
