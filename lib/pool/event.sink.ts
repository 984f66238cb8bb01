import { Subject } from 'rxjs';
import type { WorkerEvent } from '../interfaces/worker-event.interface.js';
import type { WorkerInstrumentation } from './worker.instrumentation.js';

/**
 * Where the pool, the dispatcher and the loop report lifecycle events. Cheap
 * when nobody listens: callers check `enabled` before building an event.
 */
export class EventSink {
  readonly subject = new Subject<WorkerEvent>();
  /** Telemetry, when nestjs-worker/otel is in use (see WorkerInstrumentation). */
  instrumentation?: WorkerInstrumentation;

  get enabled(): boolean {
    return this.subject.observed;
  }

  emit(event: WorkerEvent): void {
    if (this.subject.observed) this.subject.next(event);
  }

  complete(): void {
    this.subject.complete();
  }
}
