import type { TaskFailure } from '../boundary/task.failure.js';
import type { TaskSource } from '../interfaces/worker-event.interface.js';
import type { Call } from './call.record.js';
import type { EventSink } from './event.sink.js';

/** The task an event is about: a call, or one item of a `map()` chunk. */
interface Subject {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly source: TaskSource;
  readonly timeoutMs: number;
}

/** The dispatcher's lifecycle events. Nothing is built while nobody listens. */
export class DispatchEvents {
  constructor(private readonly sink: EventSink) {}

  started(calls: readonly Call[]): void {
    if (!this.sink.enabled) return;
    const at = Date.now();
    const now = performance.now();
    for (const c of calls) {
      this.sink.emit({
        type: 'task.started',
        taskId: c.id,
        name: c.name,
        attempt: c.attempt,
        source: c.source,
        at,
        queuedMs: now - c.queuedAt,
      });
    }
  }

  completed(call: Call, durationMs: number, threadId: number): void {
    if (!this.sink.enabled) return;
    const { id: taskId, name, attempt, source } = call;
    this.sink.emit({ type: 'task.completed', taskId, name, attempt, source, at: Date.now(), durationMs, threadId });
  }

  /** A timeout or a dead thread is news beyond the task's own failure. */
  failed(subject: Subject, failure: TaskFailure): void {
    if (!this.sink.enabled) return;
    const { id: taskId, name, attempt, source, timeoutMs } = subject;
    if (failure.reason === 'timeout') {
      this.sink.emit({ type: 'task.timed-out', taskId, name, attempt, source, at: Date.now(), timeoutMs });
    } else if (failure.reason === 'crash') {
      this.sink.emit({ type: 'worker.crashed', at: Date.now(), error: failure.error.message, taskId, name });
    }
  }
}
