import 'reflect-metadata';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerManager, WorkerModule } from 'nestjs-worker';
import { HashTasksModule } from './tasks';

@Module({
  imports: [
    HashTasksModule,
    WorkerModule.forRoot({ tasksModule: { module: HashTasksModule, file: join(__dirname, 'tasks.js') }, workers: 1 }),
  ],
})
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
  const out = await app.get(WorkerManager).run('hash', { text: 'hello' });
  console.log(JSON.stringify({ kind: 'cjs', out, mainThreadId: threadId }));
  await app.close();
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
