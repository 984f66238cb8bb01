import 'reflect-metadata';
import { threadId } from 'node:worker_threads';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerManager, WorkerModule } from 'nestjs-worker';
import { HashTasksModule } from './tasks.js';

@Module({
  imports: [
    HashTasksModule,
    WorkerModule.forRoot({
      tasksModule: { module: HashTasksModule, file: new URL('./tasks.js', import.meta.url) },
      workers: 1,
    }),
  ],
})
class AppModule {}

const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
const out = await app.get(WorkerManager).run('hash', { text: 'hello' });
console.log(JSON.stringify({ kind: 'esm', out, mainThreadId: threadId }));
await app.close();
