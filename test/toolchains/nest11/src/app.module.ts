import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { WorkerModule } from 'nestjs-worker';
import { HashTasksModule } from './hash/hash.tasks';

@Module({
  imports: [
    HashTasksModule,
    WorkerModule.forRoot({
      tasksModule: { module: HashTasksModule, file: join(__dirname, 'hash/hash.tasks.js') },
      workers: 1,
    }),
  ],
})
export class AppModule {}
