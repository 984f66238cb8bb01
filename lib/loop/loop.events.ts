import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type { TaskEnvelope, TaskFailureReason, TaskOutcome } from '../interfaces/task-client.interface.js';
import type { EventSink } from '../pool/event.sink.js';

/**
 * The worker loop's lifecycle events of its deliveries (`source: 'client'`);
 * running and completing are the dispatcher's (DispatchEvents). Nothing is
 * built while nobody listens.
 */
export class LoopEvents {
  constructor(private readonly sink: EventSink) {}

  fetched(task: TaskEnvelope): void {
    if (!this.sink.enabled) return;
    this.sink.emit({ type: 'task.fetched', ...about(task, Date.now()) });
  }

  /** One event per lost delivery; `dropped` are those taken out here before they started. */
  leasesLost(lost: readonly TaskEnvelope[], dropped: ReadonlySet<TaskEnvelope>): void {
    if (!this.sink.enabled) return;
    const at = Date.now();
    for (const task of lost)
      this.sink.emit({ type: 'task.lease-lost', ...about(task, at), started: !dropped.has(task) });
  }

  retrying(
    task: TaskEnvelope,
    retry: { reason: TaskFailureReason; error: SerializedTaskError; nextAttempt: number; delayMs: number },
  ): void {
    if (!this.sink.enabled) return;
    this.sink.emit({ type: 'task.retrying', ...about(task, Date.now()), ...retry });
  }

  /** The delivery's outcome, when it is news of its own: completed and retry have their events already. */
  reported(task: TaskEnvelope, outcome: TaskOutcome, started: boolean): void {
    if (!this.sink.enabled || outcome.status === 'completed' || outcome.status === 'retry') return;
    const base = about(task, Date.now());
    this.sink.emit(
      outcome.status === 'released'
        ? { ...base, type: 'task.released', started }
        : outcome.status === 'cancelled'
          ? { ...base, type: 'task.cancelled', started }
          : { ...base, type: 'task.failed', reason: outcome.reason, error: outcome.error },
    );
  }
}

function about(task: TaskEnvelope, at: number) {
  return { taskId: task.id, name: task.name, attempt: task.attempt, source: 'client' as const, at };
}
