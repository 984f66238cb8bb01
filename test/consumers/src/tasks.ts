// Shared by the ESM and the CommonJS consumer: a task provider with an injected service.
import { createHash } from 'node:crypto';
import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from 'nestjs-worker';

@Injectable()
export class Hasher {
  sha256(text: string): string {
    return createHash('sha256').update(text).digest('hex');
  }
}

@Injectable()
export class HashTasks {
  constructor(private readonly hasher: Hasher) {}

  // The schedule makes the consumer's boot read a cron expression: the cron parser (croner) must load from both builds.
  @Task('hash', { timeoutMs: 5000, schedule: { cron: '0 0 1 1 *', timezone: 'Europe/Berlin' } })
  hash(payload: { text: string }, ctx: TaskContext) {
    return { hex: this.hasher.sha256(payload.text), threadId: ctx.threadId };
  }
}

@Module({ providers: [Hasher, HashTasks] })
export class HashTasksModule {}
