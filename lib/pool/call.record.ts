import type { TransferListItem } from 'node:worker_threads';
import type { TaskFailure } from '../boundary/task.failure.js';
import type { TaskSource } from '../interfaces/worker-event.interface.js';

export type CallResult =
  | { readonly ok: true; readonly value: unknown; readonly ms: number; readonly tid: number }
  | { readonly ok: false; readonly failure: TaskFailure; readonly ms?: number; readonly tid?: number };

export interface CallInit {
  readonly name: string;
  readonly payload: unknown;
  readonly id: string;
  /** 1-based; `run()` calls are always attempt 1. */
  readonly attempt: number;
  /** Limit of this attempt in ms, 0 for none. */
  readonly timeoutMs: number;
  /** The task allows sharing a thread message with other calls (`@Task({ batch })`). */
  readonly batchable: boolean;
  readonly source: TaskSource;
  /** Called exactly once, with the value or the failure. */
  readonly done: (result: CallResult) => void;
  /** Called when the call is sent to a thread (again, if a failed batch sends it once more alone). */
  readonly onStart?: () => void;
  /** Aborts the call: dropped while queued, its thread stopped while running. */
  readonly signal?: AbortSignal;
  readonly transfer?: TransferListItem[];
  /** Telemetry's parent context for the attempt (opaque; see WorkerInstrumentation). */
  readonly parent?: unknown;
  /**
   * The call may be cancelled while it runs (a worker loop delivery): its
   * dispatch gets an AbortController up front, the only way to stop a thread.
   */
  readonly cancellable?: boolean;
  /** Each throttled `ctx.progress()` value of the call, in the main thread. */
  readonly onProgress?: (value: unknown) => void;
}

/** One task execution waiting for, or running in, a thread. */
export class Call {
  readonly name: string;
  readonly payload: unknown;
  readonly id: string;
  readonly attempt: number;
  readonly timeoutMs: number;
  readonly batchable: boolean;
  readonly source: TaskSource;
  readonly signal?: AbortSignal;
  readonly transfer?: TransferListItem[];
  readonly onStart?: () => void;
  readonly parent?: unknown;
  readonly cancellable: boolean;
  readonly onProgress?: (value: unknown) => void;
  /** Cancelled while it ran (TaskDispatcher.cancelRunning): its owner reports it as cancelled, whatever it returns. */
  cancelled = false;
  /** Set once a progress value of this call reached the main thread (see ProgressRelay). */
  progressed = false;
  lastProgress: unknown;
  /** Telemetry's span of the attempt in flight (opaque). */
  span?: unknown;
  queuedAt = 0;
  /** Split out of a batch that failed as a whole: from then on it travels alone. */
  solo = false;
  private readonly done: (result: CallResult) => void;
  private settled = false;

  constructor(init: CallInit) {
    this.name = init.name;
    this.payload = init.payload;
    this.id = init.id;
    this.attempt = init.attempt;
    this.timeoutMs = init.timeoutMs;
    this.batchable = init.batchable;
    this.source = init.source;
    this.done = init.done;
    this.signal = init.signal;
    this.transfer = init.transfer;
    this.onStart = init.onStart;
    this.parent = init.parent;
    this.cancellable = init.cancellable === true;
    this.onProgress = init.onProgress;
  }

  /**
   * Reports the result; later reports are ignored. Shutdown can reach a call
   * twice (failed as queued, then its parked `admit()` rejected): the first
   * report is the one that counts.
   */
  settle(result: CallResult): void {
    if (this.settled) return;
    this.settled = true;
    this.done(result);
  }
}

/** How a `map()` chunk ended: every item's value, or the first failing item. */
export type ChunkResult =
  | { readonly ok: true; readonly values: readonly unknown[] }
  | { readonly ok: false; readonly failure: TaskFailure; readonly index: number };

export interface MapChunkInit {
  readonly name: string;
  /** The chunk's items (a fresh typed array when `transfer` moves its buffer). */
  readonly items: ArrayLike<unknown>;
  /** Index of the first item in the whole `map()`. */
  readonly offset: number;
  /** Item ids are `${idPrefix}:${index}`. */
  readonly idPrefix: string;
  readonly timeoutMs: number;
  readonly done: (result: ChunkResult) => void;
  /** The `map()`'s signal: aborting it stops the chunk's thread too. */
  readonly signal?: AbortSignal;
  readonly transfer?: TransferListItem[];
}

/** A slice of a `map()`: many items of one task in one message. */
export class MapChunk {
  readonly name: string;
  readonly items: ArrayLike<unknown>;
  readonly offset: number;
  readonly idPrefix: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly transfer?: TransferListItem[];
  queuedAt = 0;
  private readonly done: (result: ChunkResult) => void;
  private settled = false;

  constructor(init: MapChunkInit) {
    this.name = init.name;
    this.items = init.items;
    this.offset = init.offset;
    this.idPrefix = init.idPrefix;
    this.timeoutMs = init.timeoutMs;
    this.done = init.done;
    this.signal = init.signal;
    this.transfer = init.transfer;
  }

  settle(result: ChunkResult): void {
    if (this.settled) return;
    this.settled = true;
    this.done(result);
  }
}

export type QueueEntry = Call | MapChunk;
