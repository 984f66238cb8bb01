import { Inject, Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from 'nestjs-worker';
import { HashService } from '../src/hash/hash.service.js';

@Injectable()
export class HashTasks {
  // tsx (esbuild) emits no decorator metadata: name the dependency with @Inject().
  constructor(@Inject(HashService) private readonly hashes: HashService) {}

  @Task('hash')
  hash(text: string, ctx: TaskContext) {
    return { hex: this.hashes.sha256(text), threadId: ctx.threadId };
  }
}

@Module({ providers: [HashService, HashTasks] })
export class HashTasksModule {}
