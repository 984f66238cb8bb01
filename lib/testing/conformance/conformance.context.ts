import assert from 'node:assert/strict';
import { sleep } from '../../common/backoff.js';
import type { SerializedTaskError } from '../../interfaces/serialized-error.interface.js';
import type { TaskEnvelope, TaskFailureReason, TaskOutcome } from '../../interfaces/task-client.interface.js';
import type { TaskRecord } from '../../interfaces/task-store.interface.js';
import type { ConformanceFeature } from './conformance-case.interface.js';
import type { ConformanceClient, ConformanceFeatures, ConformanceQueue } from './conformance-options.interface.js';

/** Longest single fetch() while waiting for tasks: short, so a blocking fetch gives the case its turn back. */
const FETCH_SLICE_MS = 250;
/** Pause after an empty fetch, so a client whose fetch() returns at once is not polled in a busy loop. */
const EMPTY_PAUSE_MS = 20;

/** What a feature needs from the client, checked before a case of that feature runs. */
const FEATURE_CHECKS: Record<ConformanceFeature, (queue: ConformanceQueue) => string | undefined> = {
  consumers: (q) => (typeof q.consumer === 'function' ? undefined : 'the opened queue has no consumer() to make more'),
  leases: ({ client }) =>
    !(typeof client.leaseMs === 'number' && client.leaseMs > 0) || typeof client.extendLeases !== 'function'
      ? 'the client has no leaseMs and extendLeases()'
      : client.leaseMs > 10_000
        ? `its leaseMs (${client.leaseMs}) is too long for a test; give the clients under test 300 to 1000`
        : undefined,
  startMarks: ({ client }) =>
    typeof client.markStarted === 'function' ? undefined : 'the client has no markStarted()',
  watch: ({ client }) => (typeof client.watch === 'function' ? undefined : 'the client has no watch()'),
  permits: ({ client }) =>
    typeof client.acquirePermits === 'function' ? undefined : 'the client has no acquirePermits()',
  schedules: ({ client }) =>
    typeof client.fireSchedule === 'function' ? undefined : 'the client has no fireSchedule()',
  cancel: ({ client }) =>
    typeof client.cancel === 'function' && typeof client.watchCancels === 'function'
      ? undefined
      : 'the client has no cancel() and watchCancels()',
  progress: ({ client }) =>
    typeof client.reportProgress === 'function' ? undefined : 'the client has no reportProgress()',
  // Nothing to look for: a client without unique keys fails the cases (a second task appears).
  uniqueKeys: () => undefined,
  retryDeadLetter: ({ client }) =>
    typeof client.retryDeadLetter === 'function' ? undefined : 'the client has no retryDeadLetter()',
};

/** Why the case cannot run on this client; names the feature to turn off. */
export function missingFeature(queue: ConformanceQueue, needs: readonly ConformanceFeature[]): string | undefined {
  for (const feature of needs) {
    const problem = FEATURE_CHECKS[feature](queue);
    if (problem)
      return `feature "${feature}": ${problem}. If the client does not offer it, pass features: { ${feature}: false }.`;
  }
  return undefined;
}

/**
 * What a case works with: the queue opened for it, and helpers that keep
 * the cases short and independent of how a client fetches (at once, or
 * long-polling until its signal aborts).
 */
export class ConformanceContext {
  private readonly consumers: ConformanceClient[] = [];
  /** Deliveries taken by take()/takeIds() whose leases are kept alive, per client, as a worker loop would. */
  private readonly extended = new Map<ConformanceClient, Set<TaskEnvelope>>();
  private extender?: Promise<void>;

  constructor(
    readonly queue: ConformanceQueue,
    readonly features: Required<ConformanceFeatures>,
    /** Aborts when the case runs out of time: every wait of the case ends then. */
    readonly signal: AbortSignal,
  ) {}

  /** The client under test. */
  get client(): ConformanceClient {
    return this.queue.client;
  }

  get leaseMs(): number {
    return this.client.leaseMs!;
  }

  /** How long a task whose lease ran out may take to reach another consumer: a few leases, plus scheduling slack. */
  get takeoverMs(): number {
    return this.leaseMs * 4 + 5000;
  }

  /** Another consumer of the queue. */
  async consumer(): Promise<ConformanceClient> {
    const made = await this.queue.consumer!();
    this.consumers.push(made);
    return made;
  }

  /** Kills `client` as SIGKILL would (see ConformanceQueue.kill): its leases are no longer extended. */
  async kill(client: ConformanceClient): Promise<void> {
    this.extended.delete(client);
    await this.queue.kill?.(client);
  }

  /**
   * Fetches from `client` until `count` tasks came (each fetch asking for at
   * most `max`), or fails after `timeoutMs`. Checks every fetch against its
   * `max`. The leases of what it took are kept alive, as a worker loop
   * would, unless `extend` is false (a holder that stalls).
   */
  async take(
    client: ConformanceClient,
    count: number,
    { max = count, timeoutMs = 15_000, extend = true }: { max?: number; timeoutMs?: number; extend?: boolean } = {},
  ): Promise<TaskEnvelope[]> {
    const got: TaskEnvelope[] = [];
    const deadline = Date.now() + timeoutMs;
    while (got.length < count) {
      if (Date.now() > deadline || this.signal.aborted) {
        assert.fail(`expected ${count} task(s) within ${timeoutMs} ms, got ${got.length}`);
      }
      const ask = Math.min(max, count - got.length);
      const batch = await this.fetchSlice(client, ask);
      assert.ok(batch.length <= ask, `fetch(${ask}) returned ${batch.length} tasks`);
      if (extend) this.keepAlive(client, batch);
      got.push(...batch);
      if (batch.length === 0) await sleep(EMPTY_PAUSE_MS, this.signal);
    }
    return got;
  }

  /**
   * Fetches from `client` until the tasks of `ids` came; others that come on
   * the way are held meanwhile (so they cannot come first again and again)
   * and released at the end. Their leases are kept alive like take()'s.
   */
  async takeIds(client: ConformanceClient, ids: readonly string[], timeoutMs: number): Promise<TaskEnvelope[]> {
    const wanted = new Set(ids);
    const got: TaskEnvelope[] = [];
    const others: TaskEnvelope[] = [];
    const deadline = Date.now() + timeoutMs;
    try {
      while (wanted.size > 0) {
        if (Date.now() > deadline || this.signal.aborted) {
          assert.fail(`task(s) ${[...wanted].join(', ')} did not come within ${timeoutMs} ms`);
        }
        const batch = await this.fetchSlice(client, Math.max(1, wanted.size));
        this.keepAlive(client, batch);
        for (const task of batch) {
          if (wanted.delete(task.id)) got.push(task);
          else others.push(task);
        }
        if (batch.length === 0) await sleep(EMPTY_PAUSE_MS, this.signal);
      }
    } finally {
      if (others.length > 0) await client.publish(others.map(released));
    }
    return got;
  }

  /** Fails if `client` hands out any task during `ms` (what it hands out is released first). */
  async nothing(client: ConformanceClient, ms: number, why = 'no task should be available'): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && !this.signal.aborted) {
      const batch = await this.fetchSlice(client, 10, Math.max(1, until - Date.now()));
      if (batch.length > 0) {
        await client.publish(batch.map(released));
        assert.fail(`${why}, but fetch() returned ${batch.map((t) => `${t.id} (attempt ${t.attempt})`).join(', ')}`);
      }
      await sleep(EMPTY_PAUSE_MS, this.signal);
    }
  }

  /** Extends the leases of `tasks` every `leaseMs / 3` until the returned function is called. */
  keepExtending(client: ConformanceClient, tasks: readonly TaskEnvelope[]): () => Promise<void> {
    let stopped = false;
    const running = (async () => {
      while (!stopped && !this.signal.aborted) {
        await client.extendLeases!(tasks);
        await sleep(Math.max(10, Math.floor(this.leaseMs / 3)), this.signal);
      }
    })();
    return async () => {
      stopped = true;
      await running;
    };
  }

  async get(id: string, client: ConformanceClient = this.client): Promise<TaskRecord> {
    const record = await client.get(id);
    assert.ok(record, `get("${id}") found nothing`);
    return record;
  }

  /** Polls `check` until it holds, or fails after `timeoutMs`. */
  async until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline || this.signal.aborted)
        assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(25, this.signal);
    }
  }

  /** Stops extending leases (the case's signal has aborted) and closes the queue and every client made for it. */
  async close(): Promise<void> {
    this.extended.clear();
    await this.extender;
    await this.queue.close();
  }

  /**
   * Extends the leases of `tasks` every `leaseMs / 3` for the rest of the
   * case, finished ones included: the worker loop does the same until their
   * outcomes are published, so a client must take it. take() and takeIds()
   * do it for what they take; for tasks fetched by hand.
   */
  keepAlive(client: ConformanceClient, tasks: readonly TaskEnvelope[]): void {
    if (!this.features.leases || typeof client.extendLeases !== 'function' || tasks.length === 0) return;
    let held = this.extended.get(client);
    if (!held) this.extended.set(client, (held = new Set()));
    for (const task of tasks) held.add(task);
    this.extender ??= (async () => {
      while (!this.signal.aborted) {
        await sleep(Math.max(10, Math.floor(this.leaseMs / 3)), this.signal);
        for (const [holder, list] of [...this.extended]) {
          if (this.signal.aborted) break;
          // What it answers is the business of the cases that ask.
          await holder.extendLeases!([...list]).catch(() => undefined);
        }
      }
    })();
  }

  private async fetchSlice(client: ConformanceClient, max: number, sliceMs = FETCH_SLICE_MS): Promise<TaskEnvelope[]> {
    const slice = sliceSignal(this.signal, Math.min(sliceMs, FETCH_SLICE_MS));
    try {
      return [...(await client.fetch(max, slice.signal))];
    } finally {
      slice.done();
    }
  }
}

/**
 * A signal that aborts after `ms`, or with `outer`; call `done()` once the
 * wait is over (it clears the timer and the listener on `outer`).
 *
 * Not `AbortSignal.any([outer, AbortSignal.timeout(ms)])`: on Node 20 and 22
 * nothing holds a timeout signal that only a composite signal follows, so a
 * garbage collection during the wait can take it, and the composite then
 * never aborts (nodejs/node#57736, fixed in Node 24). A client that
 * long-polls until its signal aborts (Redis, gRPC) then kept the case's
 * fetch going until the case's own timeout: flaky 30 s hangs on a busy
 * machine, where collections come more often. Here the timer holds the
 * controller itself, so the signal aborts however often the heap is collected.
 */
export function sliceSignal(outer: AbortSignal, ms: number): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const fromOuter = () => controller.abort(outer.reason);
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ms,
  );
  if (outer.aborted) fromOuter();
  else outer.addEventListener('abort', fromOuter, { once: true });
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      outer.removeEventListener('abort', fromOuter);
    },
  };
}

export const completed = (task: TaskEnvelope, result: unknown = null): TaskOutcome => ({
  status: 'completed',
  task,
  result,
  durationMs: 1,
});

export const failed = (
  task: TaskEnvelope,
  error: SerializedTaskError,
  reason: TaskFailureReason = 'error',
): TaskOutcome => ({
  status: 'failed',
  task,
  reason,
  error,
});

export const retry = (task: TaskEnvelope, error: SerializedTaskError, delayMs = 0): TaskOutcome => ({
  status: 'retry',
  task,
  reason: 'error',
  error,
  nextAttempt: task.attempt + 1,
  delayMs,
  runAt: Date.now() + delayMs,
});

export const released = (task: TaskEnvelope): TaskOutcome => ({ status: 'released', task });

export const anError = (message: string, name = 'ConformanceError'): SerializedTaskError => ({ name, message });

/** The ids of `tasks`, sorted (for comparing sets). */
export const idsOf = (tasks: readonly { id: string }[]): string[] => tasks.map((t) => t.id).sort();
