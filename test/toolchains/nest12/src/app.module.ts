import { Module } from '@nestjs/common';
import { WorkerModule } from 'nestjs-worker';
import { HashTasksModule } from './hash/hash.tasks.js';

@Module({
  imports: [
    HashTasksModule,
    WorkerModule.forRoot({
      tasksModule: { module: HashTasksModule, file: new URL('./hash/hash.tasks.js', import.meta.url) },
      workers: 1,
    }),
  ],
})
export class AppModule {}
