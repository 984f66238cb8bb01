import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { TaskMetadata } from '../decorators/task.decorator.js';
import { TASK_METADATA } from '../worker.constants.js';

@Injectable()
export class TaskMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getTaskMetadata(target: unknown): TaskMetadata | undefined {
    if (typeof target !== 'function') return undefined;
    return this.reflector.get<TaskMetadata | undefined>(TASK_METADATA, target);
  }
}
