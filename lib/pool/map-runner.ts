import type { TransferListItem } from 'node:worker_threads';
import { deserializeError } from '../errors/error-serializer.js';
import type { DispatchReply } from './dispatch-protocol.js';
import { MapChunk, type CallResult, type TaskDispatcher } from './task-dispatcher.js';

export interface MapOptions {
  /**
   * Items per message to a thread. Larger chunks cost less per item and
   * balance worse.
   * @default about 20 ms of measured work per chunk, at most 1/4 of a thread's share, 1..16384
   */
  chunkSize?: number;
  /** Time limit per item in ms (the task's `timeoutMs` otherwise). */
  timeoutMs?: number;
  /** Aborts the items not yet finished; `map()` rejects. */
  signal?: AbortSignal;
}

let mapSeq = 0;

/**
 * `Pool.map` for worker threads: items go to the threads in chunks (one
 * message per chunk, not per item), chunks enter the bounded queue one by one
 * (so a million items never sit in memory twice), results come back in order.
 * Fails fast, like `Pool.map`: the first failing item rejects the whole call.
 * Typed arrays are sliced and transferred, not cloned.
 */
export function runMap<R>(
  dispatcher: TaskDispatcher,
  workers: number,
  name: string,
  items: ArrayLike<unknown>,
  timeoutMs: number,
  options: MapOptions,
  onFail: (result: Extract<CallResult, { ok: false }>, error: Error) => void,
): Promise<R[]> {
  const total = items.length;
  if (total === 0) return Promise.resolve([]);
  const typed = ArrayBuffer.isView(items) && !(items instanceof DataView);
  const chunkSize = options.chunkSize ?? autoChunkSize(total, workers, dispatcher.timing.estimate(name));
  const prefix = `map-${(++mapSeq).toString(36)}`;
  const results = new Array<R>(total);
  const signal = options.signal;

  return new Promise<R[]>((resolve, reject) => {
    let outstanding = Math.ceil(total / chunkSize);
    let failed = false;
    const abandon = (error: Error) => {
      if (failed) return;
      failed = true;
      // Chunks still queued would only do work nobody waits for.
      dispatcher.takeQueued((e) => e instanceof MapChunk && e.idPrefix === prefix);
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    const onAbort = () => abandon(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });

    const onChunk =
      (offset: number) =>
      (reply: DispatchReply | undefined, failure?: Extract<CallResult, { ok: false }> & { index: number }) => {
        if (failed) return;
        if (failure) {
          const error = failure.local ?? deserializeError(failure.error);
          markItem(error, name, failure.index);
          onFail(failure, error);
          abandon(error);
          return;
        }
        const values = reply!.v;
        for (let i = 0; i < values.length; i++) results[offset + i] = values[i] as R;
        const failures = reply!.f;
        if (failures) {
          const index = Number(Object.keys(failures)[0]);
          const itemFailure = failures[index]!;
          const error = deserializeError(itemFailure.e);
          markItem(error, name, offset + index);
          onFail({ ok: false, reason: itemFailure.k, error: itemFailure.e }, error);
          abandon(error);
          return;
        }
        if (--outstanding === 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve(results);
        }
      };

    (async () => {
      for (let offset = 0; offset < total && !failed; offset += chunkSize) {
        const end = Math.min(total, offset + chunkSize);
        let slice: ArrayLike<unknown>;
        let transfer: TransferListItem[] | undefined;
        if (typed) {
          // A fresh copy of the range, moved (not cloned) to the thread.
          const copy = (items as unknown as NodeJS.TypedArray).slice(offset, end);
          slice = copy as unknown as ArrayLike<unknown>;
          transfer = [copy.buffer as ArrayBuffer];
        } else {
          slice = Array.prototype.slice.call(items, offset, end);
        }
        const chunk = new MapChunk(name, slice, offset, prefix, timeoutMs, onChunk(offset), transfer);
        // Waits for room in the queue: backpressure per chunk.
        await dispatcher.admit(chunk, signal);
      }
    })().catch((error: unknown) => abandon(error instanceof Error ? error : new Error(String(error))));
  });
}

function autoChunkSize(total: number, workers: number, estimateMs: number | undefined): number {
  // At least four chunks per thread, so a slow chunk does not leave the others idle.
  const share = Math.ceil(total / (workers * 4));
  const byTime = estimateMs === undefined ? 4096 : Math.floor(20 / Math.max(estimateMs, 0.0001));
  return Math.max(1, Math.min(16_384, share, byTime));
}

function markItem(error: Error, name: string, index: number): void {
  Object.defineProperty(error, 'itemIndex', { value: index, enumerable: false, configurable: true });
  Object.defineProperty(error, 'taskName', { value: name, enumerable: false, configurable: true });
}
