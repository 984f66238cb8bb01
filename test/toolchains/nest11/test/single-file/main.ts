import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { isPoolThread, Task, type TaskContext, WorkerManager, WorkerModule } from 'nestjs-worker';

@Injectable()
export class PingTasks {
  @Task('ping')
  ping(text: string, ctx: TaskContext) {
    return { pong: text, threadId: ctx.threadId };
  }
}

@Module({ providers: [PingTasks] })
export class PingTasksModule {}

@Module({
  imports: [
    PingTasksModule,
    WorkerModule.forRoot({ tasksModule: { module: PingTasksModule, file: __filename }, workers: 1 }),
  ],
})
export class AppModule {}

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(process.env.PORT ?? 0);
  const result = await app.get(WorkerManager).run('ping', 'hello');
  console.log(`task ping ${JSON.stringify(result)}`);
}
// Worker threads import this file to boot PingTasksModule: only the main thread starts the app.
if (!isPoolThread()) void bootstrap();
