import type { TransferListItem } from 'node:worker_threads';
import { abortedFailure, taskFailure, toRejection, type TaskFailure } from '../boundary/task.failure.js';
import { MapChunk, type ChunkResult } from './call.record.js';
import type { TaskDispatcher } from './task.dispatcher.js';

export interface MapOptions {
  /**
   * Items per message to a thread. Larger chunks cost less per item and
   * balance worse.
   * @default about 20 ms of measured work per chunk, at most 1/4 of a thread's share, 1..16384
   */
  chunkSize?: number;
  /** Time limit per item in ms (the task's `timeoutMs` otherwise). */
  timeoutMs?: number;
  /**
   * Aborts the items not yet finished (a running chunk's thread is stopped
   * and replaced); `map()` rejects with `TaskAbortedError`.
   */
  signal?: AbortSignal;
}

export interface MapRequest {
  readonly name: string;
  readonly items: ArrayLike<unknown>;
  readonly timeoutMs: number;
  readonly threads: number;
  readonly options: MapOptions;
  /** Sees the failure that rejects the `map()`, with the id of the failing item. */
  readonly onFail: (failure: TaskFailure, taskId: string) => void;
}

let mapSeq = 0;

/**
 * `Pool.map` for worker threads: items go to the threads in chunks (one
 * message per chunk, not per item), chunks enter the bounded queue one by one
 * (so a million items never sit in memory twice), results come back in order.
 * Fails fast, like `Pool.map`: the first failing item rejects the whole call.
 * Typed arrays are sliced and transferred, not cloned.
 */
export function runMap<R>(dispatcher: TaskDispatcher, request: MapRequest): Promise<R[]> {
  const { name, items, timeoutMs, options } = request;
  const total = items.length;
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(toRejection(abortedFailure(name, signal.reason), { taskName: name }));
  if (total === 0) return Promise.resolve([]);
  const typed = ArrayBuffer.isView(items) && !(items instanceof DataView);
  const chunkSize = options.chunkSize ?? autoChunkSize(total, request.threads, dispatcher.estimateMs(name));
  const prefix = `map-${(++mapSeq).toString(36)}`;
  const results = new Array<R>(total);

  return new Promise<R[]>((resolve, reject) => {
    let outstanding = Math.ceil(total / chunkSize);
    let failed = false;
    const fail = (failure: TaskFailure, index?: number) => {
      if (failed) return;
      failed = true;
      // Chunks still queued would only do work nobody waits for.
      dispatcher.takeQueued((e) => e instanceof MapChunk && e.idPrefix === prefix);
      signal?.removeEventListener('abort', onAbort);
      const taskId = index === undefined ? prefix : `${prefix}:${index}`;
      request.onFail(failure, taskId);
      reject(toRejection(failure, { taskName: name, taskId, itemIndex: index }));
    };
    const onAbort = () => fail(abortedFailure(name, signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });

    const onChunk = (offset: number) => (result: ChunkResult) => {
      if (failed) return;
      if (!result.ok) return fail(result.failure, result.index);
      const values = result.values;
      for (let i = 0; i < values.length; i++) results[offset + i] = values[i] as R;
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
        const chunk = new MapChunk({
          name,
          items: slice,
          offset,
          idPrefix: prefix,
          timeoutMs,
          done: onChunk(offset),
          signal,
          transfer,
        });
        // Waits for room in the queue: backpressure per chunk.
        await dispatcher.admit(chunk, signal);
      }
    })().catch((error: unknown) =>
      // Only an abort or the shutdown turn a parked chunk away.
      fail(signal?.aborted ? abortedFailure(name, signal.reason) : taskFailure('shutdown', error)),
    );
  });
}

function autoChunkSize(total: number, workers: number, estimateMs: number | undefined): number {
  // At least four chunks per thread, so a slow chunk does not leave the others idle.
  const share = Math.ceil(total / (workers * 4));
  const byTime = estimateMs === undefined ? 4096 : Math.floor(20 / Math.max(estimateMs, 0.0001));
  return Math.max(1, Math.min(16_384, share, byTime));
}
