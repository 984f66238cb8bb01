import type { LoggerService } from '@nestjs/common';
import { lostClassOf } from '../boundary/class-instance.finder.js';
import { Messages } from '../errors/error-messages.js';
import { MapChunk, type QueueEntry } from './call.record.js';

/**
 * Warns, once per task and class, that a payload is a class instance and
 * reaches the handler as a plain object. Only the payload itself is looked
 * at (one prototype lookup; a walk would cost every call), and only outside
 * production. The in-process pool of nestjs-worker/testing also looks below.
 */
export class ClassInstanceWarnings {
  private readonly seen = new Set<string>();

  constructor(private readonly logger: LoggerService) {}

  inspect(entry: QueueEntry): void {
    if (entry instanceof MapChunk) {
      // A typed-array map() is numbers; otherwise its first item stands for the rest.
      if (!ArrayBuffer.isView(entry.items) && entry.items.length > 0)
        this.check(entry.name, entry.items[0], 'items[0]');
    } else {
      this.check(entry.name, entry.payload, 'payload');
    }
  }

  check(task: string, value: unknown, path: string): void {
    const className = lostClassOf(value);
    if (className !== undefined) this.warn(task, path, className);
  }

  warn(task: string, path: string, className: string): void {
    const key = `${task}\0${path}\0${className}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.logger.warn(Messages.classInstancePayload(task, path, className));
  }
}
