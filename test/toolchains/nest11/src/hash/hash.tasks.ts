import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from 'nestjs-worker';
import { HashService } from './hash.service';

@Injectable()
export class HashTasks {
  // Injected by type: needs the decorator metadata that tsc and SWC emit.
  constructor(private readonly hashes: HashService) {}

  @Task('hash')
  hash(text: string, ctx: TaskContext) {
    return { hex: this.hashes.sha256(text), threadId: ctx.threadId };
  }
}

@Module({ providers: [HashService, HashTasks] })
export class HashTasksModule {}
