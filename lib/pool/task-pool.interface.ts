import type { TransferListItem } from 'node:worker_threads';
import type { DispatchReply, DispatchRequest } from '../boundary/dispatch.protocol.js';

/**
 * The threads, as the dispatcher sees them. `ThreadPool` (piscina) is the
 * real one; anything that answers a `DispatchRequest` with a `DispatchReply`
 * can drive the dispatcher, threads or not.
 */
export interface TaskPool {
  /** Threads kept running: the dispatcher never has more dispatches in flight than this. */
  readonly size: number;
  /** Threads alive now (fewer while a replacement starts). */
  readonly alive: number;
  /** Replacement threads that could not boot their Nest context, since start. */
  readonly bootFailures?: number;
  /**
   * Runs one dispatch on an idle thread. Rejects when the request cannot be
   * cloned, when the thread dies, or when `signal` aborts; the thread is
   * then stopped and replaced, so a rejection never leaves a thread busy.
   */
  run(request: DispatchRequest, signal?: AbortSignal, transfer?: TransferListItem[]): Promise<DispatchReply>;
  /** Sees every reply before its calls settle: the thread's counters are in it. */
  afterReply(reply: DispatchReply): void;
  /**
   * Aborts the `ctx.signal` of the calls with these ids in whichever thread
   * runs them, with a TaskCancelledError (a soft stop: the dispatcher stops
   * the thread itself once the grace period has passed).
   */
  cancelCalls?(ids: readonly string[]): void;
  /** Where the threads' `ctx.progress()` messages go: the call's id and the value. */
  onProgress?(listener: (id: string, value: unknown) => void): void;
}
