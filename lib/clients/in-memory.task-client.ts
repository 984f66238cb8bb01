import { Inject, Injectable, Optional } from '@nestjs/common';
import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type {
  PermitAnswer,
  PermitRequest,
  ProgressUpdate,
  TaskClient,
  TaskEnvelope,
  TaskFailureReason,
  TaskOutcome,
} from '../interfaces/task-client.interface.js';
import type {
  DeadLetter,
  EnqueueOptions,
  EnqueueTask,
  ScheduleFire,
  TaskCounts,
  TaskRecord,
  TaskState,
  TaskStore,
} from '../interfaces/task-store.interface.js';
import { MAX_TIMER_MS } from '../common/backoff.js';
import { captureTraceContext } from '../common/trace-context.hooks.js';
import { checkEnqueue, type CheckedTask } from './kit/enqueue.validator.js';
import { MinHeap } from './min-heap.js';
import { InMemoryPermits } from './in-memory/in-memory.permits.js';
import { InMemorySchedules } from './in-memory/in-memory.schedules.js';
import { UniqueKeys } from './in-memory/unique-keys.index.js';

export type { EnqueueOptions, TaskRecord, TaskState } from '../interfaces/task-store.interface.js';

export const IN_MEMORY_TASK_CLIENT_OPTIONS = 'nestjs-worker:in-memory-client-options';

export interface InMemoryTaskClientOptions {
  /** Finished (completed or failed) tasks kept for `get()` / `waitFor()`; the oldest go first. @default 10000 */
  maxFinished?: number;
}

interface MutableRecord {
  id: string;
  name: string;
  payload: unknown;
  state: TaskState;
  attempt: number;
  maxAttempts?: number;
  priority: number;
  seq: number;
  enqueuedAt: number;
  runAt: number;
  result?: unknown;
  errors: SerializedTaskError[];
  failureReason?: TaskFailureReason;
  finishedAt?: number;
  /** Number of the current delivery: an outcome must carry it (see `publish()`). */
  delivery: number;
  /** Trace context of the enqueuing code (see TaskEnvelope.traceContext). */
  traceContext?: string;
  progress?: unknown;
  uniqueKey?: string;
  concurrencyKey?: string;
}

/**
 * The embedded task source: a priority queue with delays in this process's
 * memory. The default client, and the quickest way to run tasks in the
 * background from a Nest app without a broker. Tasks do not survive a
 * restart; use the PostgreSQL or Redis client for that.
 */
@Injectable()
export class InMemoryTaskClient implements TaskClient, TaskStore {
  private readonly records = new Map<string, MutableRecord>();
  private readonly ready = new MinHeap<MutableRecord>(
    (a, b) => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq),
  );
  private readonly delayed = new MinHeap<MutableRecord>(
    (a, b) => a.runAt < b.runAt || (a.runAt === b.runAt && a.seq < b.seq),
  );
  private readonly finished: string[] = [];
  private finishedHead = 0;
  private readonly listeners = new Set<() => void>();
  private readonly cancelWatchers = new Set<(ids: readonly string[]) => void>();
  private readonly uniqueKeys = new UniqueKeys<MutableRecord>();
  private readonly waiters = new Map<string, Array<(record: TaskRecord) => void>>();
  private readonly permits = new InMemoryPermits();
  private readonly scheduleMarkers = new InMemorySchedules();
  private readonly maxFinished: number;
  private delayTimer?: NodeJS.Timeout;
  private delayTimerAt = Infinity;
  private seq = 0;
  private readonly idPrefix = Date.now().toString(36);

  constructor(@Optional() @Inject(IN_MEMORY_TASK_CLIENT_OPTIONS) options?: InMemoryTaskClientOptions) {
    this.maxFinished = options?.maxFinished ?? 10_000;
  }

  /** Adds a task; returns its id. */
  enqueue(name: string, payload?: unknown, options: EnqueueOptions = {}): string {
    const id = this.add(checkEnqueue('InMemoryTaskClient', { ...options, name, payload }));
    this.notify();
    return id;
  }

  /** Adds many tasks at once; returns their ids in order. */
  enqueueMany(tasks: readonly EnqueueTask[]): string[] {
    if (!Array.isArray(tasks)) throw new TypeError(`InMemoryTaskClient.enqueueMany(): expected an array of tasks.`);
    // Everything is checked before anything is added: a bad task leaves the queue as it was.
    const checked = tasks.map((task, i) => checkEnqueue('InMemoryTaskClient', task, i));
    const given = new Set<string>();
    for (const { id } of checked) {
      if (id === undefined) continue;
      if (this.records.has(id) || given.has(id)) throw duplicateId(id);
      given.add(id);
    }
    const ids = checked.map((task) => this.add(task));
    if (ids.length > 0) this.notify();
    return ids;
  }

  get<R = unknown>(id: string): TaskRecord<R> | undefined {
    const record = this.records.get(id);
    return record ? snapshot<R>(record) : undefined;
  }

  /** Resolves with the record once the task has completed, failed for good or been cancelled. */
  waitFor<R = unknown>(id: string, signal?: AbortSignal): Promise<TaskRecord<R>> {
    const record = this.records.get(id);
    if (!record)
      return Promise.reject(new Error(`Unknown task id "${id}" (never enqueued, or evicted after maxFinished).`));
    if (isFinal(record.state)) return Promise.resolve(snapshot<R>(record));
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      const onAbort = () => {
        const at = list.indexOf(done as never);
        if (at >= 0) list.splice(at, 1);
        reject(signal!.reason);
      };
      const done = (r: TaskRecord) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(r as TaskRecord<R>);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      list.push(done);
      this.waiters.set(id, list);
    });
  }

  /** Tasks per state. */
  counts(): TaskCounts {
    const counts: TaskCounts = { queued: 0, delayed: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
    for (const record of this.records.values()) counts[record.state]++;
    return counts;
  }

  /** The newest dead letters first, among the finished tasks still kept (`maxFinished`). */
  deadLetters(limit = 100): DeadLetter[] {
    const out: DeadLetter[] = [];
    for (let i = this.finished.length - 1; i >= this.finishedHead && out.length < limit; i--) {
      const record = this.records.get(this.finished[i]!);
      if (record?.state !== 'failed') continue;
      out.push({
        id: record.id,
        name: record.name,
        payload: record.payload,
        attempt: record.attempt,
        reason: record.failureReason ?? 'error',
        error: record.errors[record.errors.length - 1] ?? { name: 'Error', message: '' },
        errors: [...record.errors],
        failedAt: record.finishedAt ?? record.enqueuedAt,
      });
    }
    return out;
  }

  /**
   * Puts a dead letter back in the queue, as attempt 1 with every attempt
   * anew (its errors so far are kept). Returns false when `id` is not a dead
   * letter (unknown, evicted, or not failed).
   */
  retryDeadLetter(id: string): boolean {
    const record = this.records.get(id);
    if (record?.state !== 'failed') return false;
    const at = this.finished.lastIndexOf(id);
    if (at >= this.finishedHead) this.finished.splice(at, 1);
    record.state = 'queued';
    record.attempt = 1;
    record.runAt = Date.now();
    record.seq = this.seq++;
    delete record.failureReason;
    delete record.finishedAt;
    // Its key again, unless another task took it meanwhile (then it runs without one).
    if (record.uniqueKey !== undefined && !this.uniqueKeys.claim(record.name, record.uniqueKey, record))
      delete record.uniqueKey;
    this.ready.push(record);
    this.notify();
    return true;
  }

  async fetch(max: number): Promise<readonly TaskEnvelope[]> {
    this.promoteDue(Date.now());
    const out: TaskEnvelope[] = [];
    while (out.length < max) {
      const record = this.ready.pop();
      if (!record) break;
      if (record.state !== 'queued') continue;
      record.state = 'running';
      record.delivery++;
      out.push({
        id: record.id,
        name: record.name,
        payload: record.payload,
        attempt: record.attempt,
        maxAttempts: record.maxAttempts,
        enqueuedAt: record.enqueuedAt,
        receipt: record.delivery,
        ...(record.traceContext !== undefined ? { traceContext: record.traceContext } : {}),
        ...(record.concurrencyKey !== undefined ? { concurrencyKey: record.concurrencyKey } : {}),
      });
    }
    return out;
  }

  /**
   * Applies outcomes. Each must belong to the task's current delivery (its
   * receipt): an outcome published twice, or one of a delivery that was
   * released and fetched again since, changes nothing.
   */
  async publish(outcomes: readonly TaskOutcome[]): Promise<void> {
    let requeued = false;
    for (const outcome of outcomes) {
      // Any outcome ends its delivery for the holder, fenced or not: its concurrency permit is free.
      const freed = this.permits.release(outcome.task);
      if (freed !== undefined && this.wakeWaiter(freed)) requeued = true;
      const record = this.records.get(outcome.task.id);
      if (
        !record ||
        record.state !== 'running' ||
        record.attempt !== outcome.task.attempt ||
        (outcome.task.receipt !== undefined && outcome.task.receipt !== record.delivery)
      )
        continue;
      switch (outcome.status) {
        case 'completed':
          record.result = outcome.result;
          this.finish(record, 'completed');
          break;
        case 'failed':
          record.errors.push(outcome.error);
          record.failureReason = outcome.reason;
          this.finish(record, 'failed');
          break;
        case 'retry':
          record.errors.push(outcome.error);
          delete record.progress;
          record.attempt = outcome.nextAttempt;
          record.runAt = outcome.runAt;
          record.state = 'delayed';
          this.schedule(record);
          break;
        case 'released':
          if (outcome.delayMs !== undefined && outcome.delayMs > 0) {
            // Over a rate limit or its key's concurrency: it waits, uncharged.
            record.runAt = Date.now() + outcome.delayMs;
            record.state = 'delayed';
            // Behind the tasks that waited meanwhile (a new seq): that is what lets other keys go first.
            record.seq = this.seq++;
            this.schedule(record);
            break;
          }
          // Back in line ahead of younger tasks of its priority (it keeps its seq).
          record.state = 'queued';
          this.ready.push(record);
          requeued = true;
          break;
        case 'cancelled':
          // cancel() marked it already, which fenced this delivery; reaching
          // here means a loop cancelled it without the store: finish it so.
          this.finish(record, 'cancelled');
          break;
      }
    }
    if (requeued) this.notify();
  }

  /** Rate limits and concurrency keys, for the worker loops sharing this instance (see in-memory.permits.ts). */
  acquirePermits(requests: readonly PermitRequest[]): Promise<readonly PermitAnswer[]> {
    return Promise.resolve(this.permits.acquire(requests));
  }

  /** A permit of `slot` is free: the oldest delivery denied for it and waiting out its delay is ready now. */
  private wakeWaiter(slot: string): boolean {
    for (const id of this.permits.waitingFor(slot)) {
      const record = this.records.get(id);
      // Still held: its release with a delay is on its way; the next freed permit, or its delay, brings it back.
      if (record?.state === 'running') continue;
      this.permits.forget(slot, id);
      if (record?.state !== 'delayed') continue;
      record.state = 'queued';
      record.runAt = Date.now();
      this.ready.push(record);
      return true;
    }
    return false;
  }

  /** One fire per schedule tick among the WorkerModules sharing this instance (see in-memory.schedules.ts). */
  fireSchedule(fire: ScheduleFire): string | undefined {
    return this.scheduleMarkers.offer(fire, (task) => this.enqueueMany([task])[0]!);
  }

  watch(onAvailable: () => void): () => void {
    this.listeners.add(onAvailable);
    return () => this.listeners.delete(onAvailable);
  }

  /**
   * Cancels a task: a queued or delayed one (a retry waiting included) never
   * runs; a running one is marked cancelled now, its delivery's late outcome
   * is ignored, and `watchCancels()` listeners are told so that its worker
   * loop aborts it. False when the task is unknown or already finished.
   */
  cancel(id: string): boolean {
    const record = this.records.get(id);
    if (!record || isFinal(record.state)) return false;
    const running = record.state === 'running';
    // The heaps drop it lazily (they skip what is no longer queued or delayed).
    this.finish(record, 'cancelled');
    if (running) {
      // A new delivery number fences the holder's outcome and progress.
      record.delivery++;
      for (const onCancel of [...this.cancelWatchers]) {
        try {
          onCancel([id]);
        } catch {
          // A listener's failure is its own; the others are told all the same.
        }
      }
    }
    return true;
  }

  watchCancels(onCancel: (ids: readonly string[]) => void): () => void {
    this.cancelWatchers.add(onCancel);
    return () => this.cancelWatchers.delete(onCancel);
  }

  /** Keeps the latest progress of each running delivery (fenced like outcomes) for `get(id).progress`. */
  async reportProgress(updates: readonly ProgressUpdate[]): Promise<void> {
    for (const { task, value } of updates) {
      const record = this.records.get(task.id);
      if (
        record?.state === 'running' &&
        record.attempt === task.attempt &&
        (task.receipt === undefined || task.receipt === record.delivery)
      )
        record.progress = value;
    }
  }

  private add(task: CheckedTask): string {
    if (task.uniqueKey !== undefined) {
      const holder = this.uniqueKeys.holder(task.name, task.uniqueKey);
      if (holder) {
        if (task.onDuplicate === 'replace' && (holder.state === 'queued' || holder.state === 'delayed'))
          this.replace(holder, task);
        return holder.id;
      }
    }
    const id = task.id ?? `${this.idPrefix}-${++this.seq}`;
    if (this.records.has(id)) throw duplicateId(id);
    const now = Date.now();
    const record: MutableRecord = {
      id,
      name: task.name,
      payload: task.payload,
      state: task.delayMs > 0 ? 'delayed' : 'queued',
      attempt: 1,
      maxAttempts: task.maxAttempts,
      priority: task.priority,
      seq: this.seq++,
      enqueuedAt: now,
      runAt: now + task.delayMs,
      errors: [],
      delivery: 0,
    };
    const traceContext = captureTraceContext();
    if (traceContext !== undefined) record.traceContext = traceContext;
    if (task.concurrencyKey !== undefined) record.concurrencyKey = task.concurrencyKey;
    if (task.uniqueKey !== undefined) {
      record.uniqueKey = task.uniqueKey;
      this.uniqueKeys.claim(task.name, task.uniqueKey, record);
    }
    this.records.set(id, record);
    if (task.delayMs > 0) this.schedule(record);
    else this.ready.push(record);
    return id;
  }

  /**
   * `onDuplicate: 'replace'`: the waiting holder of the key takes the new
   * payload and options under its id. A fresh record takes its place, so
   * that the heaps' entries of the old one (dropped lazily, as a cancelled
   * task's are) can never deliver it twice; it keeps its enqueue time and
   * its place among tasks of its priority, attempts and errors.
   */
  private replace(old: MutableRecord, task: CheckedTask): void {
    const now = Date.now();
    const record: MutableRecord = {
      ...old,
      payload: task.payload,
      maxAttempts: task.maxAttempts,
      priority: task.priority,
      state: task.delayMs > 0 ? 'delayed' : 'queued',
      runAt: now + task.delayMs,
      errors: old.errors,
    };
    if (task.concurrencyKey !== undefined) record.concurrencyKey = task.concurrencyKey;
    else delete record.concurrencyKey;
    // Detached: no longer in `records`; its heap entries are skipped.
    old.state = 'cancelled';
    this.records.set(record.id, record);
    this.uniqueKeys.claim(record.name, record.uniqueKey!, record);
    if (task.delayMs > 0) this.schedule(record);
    else this.ready.push(record);
  }

  private schedule(record: MutableRecord): void {
    this.delayed.push(record);
    if (record.runAt < this.delayTimerAt) {
      if (this.delayTimer) clearTimeout(this.delayTimer);
      this.delayTimerAt = record.runAt;
      this.delayTimer = setTimeout(
        () => {
          this.delayTimer = undefined;
          this.delayTimerAt = Infinity;
          if (this.promoteDue(Date.now())) this.notify();
          const next = this.delayed.peek();
          if (next) {
            // Re-arm for the next delayed task.
            this.delayed.pop();
            this.schedule(next);
          }
        },
        // Node runs a longer timeout after 1 ms: a far-off task would wake the loop in a busy cycle.
        Math.min(MAX_TIMER_MS, Math.max(0, record.runAt - Date.now())),
      );
      this.delayTimer.unref();
    }
  }

  /** Moves due delayed tasks to the ready queue; true when any moved. */
  private promoteDue(now: number): boolean {
    let promoted = false;
    for (let next = this.delayed.peek(); next && next.runAt <= now; next = this.delayed.peek()) {
      this.delayed.pop();
      if (next.state === 'delayed') {
        next.state = 'queued';
        this.ready.push(next);
        promoted = true;
      }
    }
    return promoted;
  }

  private finish(record: MutableRecord, state: 'completed' | 'failed' | 'cancelled'): void {
    record.state = state;
    record.finishedAt = Date.now();
    if (record.uniqueKey !== undefined) this.uniqueKeys.release(record.name, record.uniqueKey, record);
    this.finished.push(record.id);
    const waiting = this.waiters.get(record.id);
    if (waiting) {
      this.waiters.delete(record.id);
      const snap = snapshot(record);
      for (const resolve of waiting) resolve(snap);
    }
    while (this.finished.length - this.finishedHead > this.maxFinished) {
      this.records.delete(this.finished[this.finishedHead++]!);
    }
    if (this.finishedHead > 4096 && this.finishedHead * 2 > this.finished.length) {
      this.finished.splice(0, this.finishedHead);
      this.finishedHead = 0;
    }
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

function duplicateId(id: string): Error {
  return new Error(`InMemoryTaskClient.enqueue(): a task with id "${id}" already exists.`);
}

function isFinal(state: TaskState): boolean {
  return state === 'completed' || state === 'failed' || state === 'cancelled';
}

function snapshot<R>(record: MutableRecord): TaskRecord<R> {
  const { seq: _seq, delivery: _delivery, traceContext: _traceContext, ...rest } = record;
  return { ...rest, errors: [...record.errors] } as TaskRecord<R>;
}
