import { threadId } from 'node:worker_threads';
import { Injectable, Module } from '@nestjs/common';
import { Task } from 'nestjs-worker';
import { GreetingService } from './greeting.service.js';

export interface Greeting {
  text: string;
  threadId: number;
}

@Injectable()
export class GreetingTasks {
  // Injected by type: the threads' compiler must emit decorator metadata.
  constructor(private readonly greetings: GreetingService) {}

  @Task('greet')
  greet(name: string): Greeting {
    return { text: this.greetings.greet(name), threadId };
  }

  @Task('fail', { maxAttempts: 1 })
  fail(): never {
    throw new Error('failed in the TypeScript source');
  }
}

@Module({ providers: [GreetingService, GreetingTasks] })
export class GreetingTasksModule {}
