import type { EventSink } from './event.sink.js';
import type { Call } from './call.record.js';
import type { Dispatch } from './dispatch.record.js';

/**
 * Carries `ctx.progress()` from the threads to whoever wants it: a
 * `task.progress` event (built only while someone subscribes) and the call's
 * own `onProgress` (the worker loop's, for the store). A value comes on the
 * pool's side channel while the call runs, or with its reply (the latest);
 * one that arrives after the reply finds no call in flight and is dropped.
 * Looked up by id among the dispatches in flight: at most one per thread,
 * and progress is throttled in the thread, so the scan is cheap.
 */
export class ProgressRelay {
  constructor(private readonly sink: EventSink) {}

  /** A progress message of call `id` from a thread. */
  fromThread(inflight: Iterable<Dispatch>, id: string, value: unknown): void {
    for (const dispatch of inflight) {
      if (dispatch.calls) {
        for (const call of dispatch.calls) {
          if (call.id === id) {
            this.deliver(call, value);
            return;
          }
        }
      } else {
        const chunk = dispatch.chunk!;
        if (id.length > chunk.idPrefix.length && id.startsWith(chunk.idPrefix) && id[chunk.idPrefix.length] === ':') {
          this.emit(id, chunk.name, 1, 'map', value);
          return;
        }
      }
    }
  }

  /** The latest values a reply carries (DispatchReply.g), before its calls settle. */
  fromReply(dispatch: Dispatch, latest: Record<number, unknown>): void {
    for (const key of Object.keys(latest)) {
      const index = Number(key);
      const value = latest[index];
      if (dispatch.calls) {
        const call = dispatch.calls[index];
        // Already delivered from the side channel: a primitive is compared, an object goes again.
        if (call && !(call.progressed && call.lastProgress === value)) this.deliver(call, value);
      } else {
        const chunk = dispatch.chunk!;
        this.emit(`${chunk.idPrefix}:${chunk.offset + index}`, chunk.name, 1, 'map', value);
      }
    }
  }

  private deliver(call: Call, value: unknown): void {
    call.progressed = true;
    call.lastProgress = value;
    this.emit(call.id, call.name, call.attempt, call.source, value);
    call.onProgress?.(value);
  }

  private emit(taskId: string, name: string, attempt: number, source: Call['source'], value: unknown): void {
    if (!this.sink.enabled) return;
    this.sink.emit({ type: 'task.progress', taskId, name, attempt, source, at: Date.now(), value });
  }
}
