import type { TaskCounts } from '../interfaces/task-store.interface.js';
import type { TaskSource } from '../interfaces/worker-event.interface.js';
import type { WorkerStats } from '../interfaces/worker-stats.interface.js';

/** An error as the page shows it: clipped, never markup (the page renders it as text). */
export interface DashboardError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/** A task running in this process, from `events$` while a page is open. */
export interface DashboardRunningTask {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly source: TaskSource;
  /** Epoch ms; undefined when it started before the page was opened (seen first by its progress). */
  readonly startedAt?: number;
  /** The last `ctx.progress()` value: a number, or JSON text. */
  readonly progress?: number | string;
}

/** A failed attempt seen while a page was open. */
export interface DashboardFailure {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly source: TaskSource;
  /** `retrying`: another attempt follows; `failed`: for good. */
  readonly kind: 'retrying' | 'failed';
  readonly reason: string;
  readonly error: DashboardError;
  readonly at: number;
}

export interface DashboardDeadLetter {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly reason: string;
  readonly error: DashboardError;
  /** Failed attempts on record. */
  readonly attempts: number;
  readonly failedAt: number;
}

/** What `<path>/state` answers and `<path>/events` sends about once per `intervalMs`. */
export interface DashboardSnapshot {
  readonly at: number;
  /** `WorkerManager.stats()`, or undefined with `error` when the pool is not running. */
  readonly stats?: WorkerStats;
  readonly error?: string;
  /** Attempts finished per second since the previous live update (completed, failed). */
  readonly rates: { readonly completed: number; readonly failed: number };
  readonly store: {
    /** The store's `counts()`, as last asked (every `storePollMs`). */
    readonly counts?: TaskCounts;
    readonly error?: string;
    /** undefined when the store has no `deadLetters()`. */
    readonly deadLetters?: readonly DashboardDeadLetter[];
    readonly at?: number;
  };
  readonly running: readonly DashboardRunningTask[];
  /** Tasks running here that are not listed (the list is capped). */
  readonly runningNotListed: number;
  readonly failures: readonly DashboardFailure[];
  /** Which actions the page offers: none without a `guard`. */
  readonly actions: {
    readonly pause: boolean;
    readonly retry: boolean;
    readonly cancel: boolean;
  };
}
