import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  AsyncSubject,
  defer,
  exhaustMap,
  finalize,
  share,
  takeUntil,
  timer,
  type Observable,
  type Subscription,
} from 'rxjs';
import { describeThrown } from '../clients/kit/json.encoder.js';
import { InvalidWorkerDashboardOptionsError } from '../errors/worker.errors.js';
import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type { TaskClient } from '../interfaces/task-client.interface.js';
import type { TaskStore } from '../interfaces/task-store.interface.js';
import type { WorkerEvent } from '../interfaces/worker-event.interface.js';
import { TASK_CLIENT } from '../worker.constants.js';
import { WorkerManager } from '../worker.manager.js';
import type {
  DashboardDeadLetter,
  DashboardError,
  DashboardFailure,
  DashboardRunningTask,
  DashboardSnapshot,
} from './dashboard-snapshot.interface.js';
import { DASHBOARD_OPTIONS } from './dashboard.constants.js';
import type { ResolvedDashboardOptions } from './worker-dashboard-options.interface.js';

/** Running tasks listed at most; the rest are counted. Bounds memory and the page's size. */
const MAX_RUNNING = 200;
/** Longest wait for the store within one update: a store that hangs must not stop the updates. */
const STORE_WAIT_MS = 1000;

type Store = TaskClient & Partial<TaskStore>;
/** `WorkerManager.cancel(id)`, where this version of the core has it. */
type Cancellable = { cancel?(id: string): unknown };

function clip(text: unknown, max: number): string {
  const value = typeof text === 'string' ? text : String(text ?? '');
  return value.length > max ? `${value.slice(0, max)}… (${value.length - max} more characters)` : value;
}

/** An error as the page shows it: bounded in size whatever a handler threw. */
export function errorView(error: SerializedTaskError | undefined): DashboardError {
  if (!error) return { name: 'Error', message: '(no error recorded)' };
  return {
    name: clip(error.name, 200),
    message: clip(error.message, 2000),
    ...(error.code !== undefined ? { code: clip(error.code, 200) } : {}),
    ...(error.stack ? { stack: clip(error.stack, 4000) } : {}),
  };
}

function progressView(value: unknown): number | string {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  try {
    return clip(JSON.stringify(value) ?? String(value), 200);
  } catch {
    return '(unprintable)';
  }
}

/**
 * What the dashboard shows, gathered only while a page watches: the live
 * stream (`live$`) subscribes to the manager's events and polls the store
 * while at least one page is connected, and stops both when the last one
 * leaves. One timer serves every open page.
 */
@Injectable()
export class DashboardTracker implements OnModuleInit, OnModuleDestroy {
  private manager!: WorkerManager;
  private client?: Store;
  private readonly running = new Map<string, DashboardRunningTask>();
  private readonly failures: DashboardFailure[] = [];
  private events?: Subscription;
  private previous?: { at: number; completed: number; failed: number };
  private rates = { completed: 0, failed: 0 };
  private store: DashboardSnapshot['store'] = {};
  private storeAskedAt = 0;
  private storeQuestion?: Promise<void>;
  /** Completes when the app closes; a page that connects after that gets an ended stream at once. */
  private readonly closing = new AsyncSubject<void>();

  /** Snapshots about every `intervalMs` while subscribed; shared by every open page. */
  readonly live$: Observable<DashboardSnapshot>;

  constructor(
    @Inject(DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {
    this.live$ = defer(() => {
      this.watch();
      return timer(0, options.intervalMs);
    }).pipe(
      exhaustMap(() => this.snapshot(true)),
      takeUntil(this.closing),
      finalize(() => this.unwatch()),
      share(),
    );
  }

  onModuleInit(): void {
    try {
      this.manager = this.moduleRef.get(WorkerManager, { strict: false });
    } catch {
      throw new InvalidWorkerDashboardOptionsError(
        'imports',
        'cannot reach WorkerManager: the application has no WorkerModule the dashboard can see',
        "Import WorkerModule.forRoot() in the application module (it is global unless isGlobal: false; then list the module that exports it in the dashboard's imports).",
      );
    }
    if (!this.options.readGuard && process.env.NODE_ENV === 'production') {
      // Task names, errors and their stacks are on the page: say so once, where it matters.
      new Logger('WorkerDashboardModule').warn(
        `The workers dashboard at /${this.options.path} is readable by anyone who reaches the app (task names, errors and stacks). Set readGuard in WorkerDashboardModule.forRoot() to restrict it.`,
      );
    }
    try {
      this.client = this.moduleRef.get<Store>(TASK_CLIENT, { strict: false });
    } catch {
      this.client = undefined;
    }
  }

  /**
   * Ends every open page's stream. The HTTP server's close() waits for the
   * responses in flight, and an update stream never finishes by itself: one
   * open dashboard would otherwise hold app.close() (and a rolling deploy)
   * until the browser leaves, on Express and Fastify alike.
   */
  onModuleDestroy(): void {
    this.closing.next();
    this.closing.complete();
  }

  /** The task client's store, for the actions. */
  get taskStore(): Store | undefined {
    return this.client;
  }

  get workers(): WorkerManager {
    return this.manager;
  }

  /** Whether a task can be cancelled from here: `WorkerManager.cancel(id)`, else the store's `cancel(id)`. */
  get canCancel(): boolean {
    return typeof (this.manager as Cancellable).cancel === 'function' || typeof this.client?.cancel === 'function';
  }

  /** Cancels `id` through the manager where it can (it reaches run() tasks too), else through the store. */
  async cancel(id: string): Promise<boolean> {
    const manager = this.manager as Cancellable;
    if (typeof manager.cancel === 'function') return Boolean(await manager.cancel(id));
    if (typeof this.client?.cancel === 'function') return Boolean(await this.client.cancel(id));
    return false;
  }

  /** A snapshot now. `live`: part of the live stream (measures rates and asks the store on its schedule). */
  async snapshot(live = false): Promise<DashboardSnapshot> {
    const at = Date.now();
    let stats: DashboardSnapshot['stats'];
    let error: string | undefined;
    try {
      stats = this.manager.stats();
    } catch (thrown) {
      error = describeThrown(thrown);
    }
    if (live && stats) {
      const finished = { at, completed: stats.completed, failed: stats.failed };
      const before = this.previous;
      if (before && at > before.at) {
        const seconds = (at - before.at) / 1000;
        this.rates = {
          completed: Math.max(0, (finished.completed - before.completed) / seconds),
          failed: Math.max(0, (finished.failed - before.failed) / seconds),
        };
      }
      this.previous = finished;
    }
    await this.askStore(at, !live);
    const running = [...this.running.values()];
    const actions = Boolean(this.options.guard);
    return {
      at,
      ...(stats ? { stats } : {}),
      ...(error ? { error } : {}),
      rates: this.rates,
      store: this.store,
      running: running.slice(0, MAX_RUNNING),
      runningNotListed: Math.max(0, (stats?.running ?? running.length) - Math.min(running.length, MAX_RUNNING)),
      failures: this.failures,
      actions: {
        pause: actions,
        retry: actions && typeof this.client?.retryDeadLetter === 'function',
        cancel: actions && this.canCancel,
      },
    };
  }

  /** Asks the store again when `storePollMs` has passed (or `now`), waiting at most STORE_WAIT_MS for it. */
  private async askStore(at: number, now: boolean): Promise<void> {
    const store = this.client;
    if (this.options.storePollMs === 0 || typeof store?.counts !== 'function') return;
    if (!this.storeQuestion && (now || at - this.storeAskedAt >= this.options.storePollMs)) {
      this.storeAskedAt = at;
      this.storeQuestion = (async () => {
        try {
          const [counts, letters] = await Promise.all([
            store.counts!(),
            typeof store.deadLetters === 'function' && this.options.deadLetters > 0
              ? store.deadLetters(this.options.deadLetters)
              : undefined,
          ]);
          this.store = {
            counts,
            ...(letters ? { deadLetters: letters.map(deadLetterView) } : {}),
            at: Date.now(),
          };
        } catch (thrown) {
          this.store = { ...this.store, error: describeThrown(thrown), at: Date.now() };
        } finally {
          this.storeQuestion = undefined;
        }
      })();
    }
    if (!this.storeQuestion) return;
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.storeQuestion, new Promise((r) => (timeout = setTimeout(r, STORE_WAIT_MS)))]);
    clearTimeout(timeout);
  }

  private watch(): void {
    this.previous = undefined;
    this.rates = { completed: 0, failed: 0 };
    this.events = this.manager.events$.subscribe((event) => this.record(event));
  }

  private unwatch(): void {
    this.events?.unsubscribe();
    this.events = undefined;
    // Tasks that end while nobody watches would stay listed as running.
    this.running.clear();
  }

  private record(event: WorkerEvent): void {
    switch (event.type) {
      case 'task.started':
        if (this.running.size < MAX_RUNNING * 2) {
          this.running.set(event.taskId, {
            id: event.taskId,
            name: clip(event.name, 200),
            attempt: event.attempt,
            source: event.source,
            startedAt: event.at,
          });
        }
        return;
      case 'task.progress': {
        const known = this.running.get(event.taskId);
        if (!known && this.running.size >= MAX_RUNNING * 2) return;
        this.running.set(event.taskId, {
          ...(known ?? { id: event.taskId, name: clip(event.name, 200), attempt: event.attempt, source: event.source }),
          progress: progressView(event.value),
        });
        return;
      }
      case 'task.retrying':
      case 'task.failed':
        this.running.delete(event.taskId);
        if (this.options.recentFailures === 0) return;
        this.failures.unshift({
          id: event.taskId,
          name: clip(event.name, 200),
          attempt: event.attempt,
          source: event.source,
          kind: event.type === 'task.failed' ? 'failed' : 'retrying',
          reason: event.reason,
          error: errorView(event.error),
          at: event.at,
        });
        if (this.failures.length > this.options.recentFailures) this.failures.length = this.options.recentFailures;
        return;
      case 'task.completed':
      case 'task.cancelled':
      case 'task.released':
      case 'task.lease-lost':
        this.running.delete(event.taskId);
        return;
      default:
        return;
    }
  }
}

function deadLetterView(letter: {
  id: string;
  name: string;
  attempt: number;
  reason: string;
  error: SerializedTaskError;
  errors: readonly SerializedTaskError[];
  failedAt: number;
}): DashboardDeadLetter {
  return {
    id: clip(letter.id, 200),
    name: clip(letter.name, 200),
    attempt: letter.attempt,
    reason: letter.reason,
    error: errorView(letter.error),
    attempts: letter.errors?.length ?? 0,
    failedAt: letter.failedAt,
  };
}
