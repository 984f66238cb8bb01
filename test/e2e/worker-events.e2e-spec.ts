/**
 * Thread lifecycle events on real threads: every thread that ends while the
 * pool runs (stopped at its timeout, stopped after an abort, crashed,
 * recycled) is reported by exactly one worker.exited naming it, and the
 * thread-restart counter of nestjs-worker/otel counts each of them once.
 *
 * One thread per app, so the thread that ran a task is the one `whoami`
 * answered from just before it. The checks run once the replacement thread
 * has answered: piscina reports a thread destroyed before it starts its
 * replacement, so no waiting for the event is involved.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Subscription } from 'rxjs';
import {
  TaskAbortedError,
  TaskTimeoutError,
  WorkerCrashedError,
  type WorkerEvent,
  type WorkerManager,
  type WorkerModuleOptions,
} from '../../lib/index.js';
import { WORKER_METRICS, WORKER_SPAN_ATTRIBUTES as ATTR, WorkerTelemetryModule } from '../../lib/otel.js';
import { registerTestSdk, type TestSdk } from '../fixtures/otel/otel.sdk.js';
import { bootChaosApp, rejectionOf, until, type BootedApp } from '../support/app.js';

interface Watched {
  readonly app: BootedApp;
  readonly events: WorkerEvent[];
  readonly subscription: Subscription;
}

async function watch(worker: WorkerModuleOptions = {}): Promise<Watched> {
  const app = await bootChaosApp({
    worker: { workers: 1, ...worker },
    imports: [WorkerTelemetryModule.forRoot()],
    logger: false,
  });
  const events: WorkerEvent[] = [];
  const subscription = app.manager.events$.subscribe((e) => events.push(e));
  return { app, events, subscription };
}

const threadOf = async (manager: WorkerManager) => (await manager.run<{ threadId: number }>('whoami', {})).threadId;

const exited = (events: WorkerEvent[]) => events.flatMap((e) => (e.type === 'worker.exited' ? [e.threadId] : []));
const started = (events: WorkerEvent[]) => events.flatMap((e) => (e.type === 'worker.started' ? [e.threadId] : []));

describe('worker.exited: one per thread that ends, naming it', () => {
  let sdk: TestSdk;
  let current: Watched | undefined;

  before(() => {
    sdk = registerTestSdk({ tracing: false });
  });
  after(async () => {
    await current?.app.close();
    await sdk.shutdown();
  });

  /** Restarts counted so far, by reason (the counter is cumulative across the apps of this file). */
  async function restarts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const point of (await sdk.metrics()).get(WORKER_METRICS.restarts) ?? []) {
      const reason = String(point.attributes[ATTR.restartReason]);
      out[reason] = (out[reason] ?? 0) + (point.value as number);
    }
    return out;
  }

  /**
   * Runs `misbehave` on the app's only thread, then a task on its
   * replacement; checks the events and the counter between the two.
   */
  async function endsOneThread(reason: string, misbehave: (manager: WorkerManager) => Promise<void>): Promise<void> {
    const { app, events } = current!;
    const counted = (await restarts())[reason] ?? 0;
    const from = events.length;
    const before = await threadOf(app.manager);

    await misbehave(app.manager);
    const after = await threadOf(app.manager);

    assert.notEqual(after, before, 'the task ran on a replacement thread');
    const seen = events.slice(from);
    assert.deepEqual(exited(seen), [before], 'one worker.exited, for the thread that ran the task');
    assert.deepEqual(started(seen), [after], 'one worker.started, for its replacement');
    const exitedAt = seen.findIndex((e) => e.type === 'worker.exited');
    const startedAt = seen.findIndex((e) => e.type === 'worker.started');
    assert.ok(exitedAt < startedAt, 'the old thread is reported gone before its replacement starts');
    assert.equal((await restarts())[reason] ?? 0, counted + 1, `one thread restart counted as ${reason}`);
  }

  async function fresh(worker: WorkerModuleOptions = {}): Promise<void> {
    current?.subscription.unsubscribe();
    await current?.app.close();
    current = await watch(worker);
  }

  it('a task past its timeout: its thread is stopped', async () => {
    await fresh();
    await endsOneThread('timeout', async (manager) => {
      const error = await rejectionOf(manager.run('spin', {}));
      assert.ok(error instanceof TaskTimeoutError, error.message);
    });
  });

  it('a running task aborted by its caller, past its grace: its thread is stopped', async () => {
    await fresh({ timeoutGraceMs: 50 });
    await endsOneThread('aborted', async (manager) => {
      const controller = new AbortController();
      const running = rejectionOf(manager.run('burn', { ms: 600_000 }, { signal: controller.signal }));
      const { events } = current!;
      await until(() => events.some((e) => e.type === 'task.started' && e.name === 'burn'), 10_000, 'burn to start');
      controller.abort();
      const error = await running;
      assert.ok(error instanceof TaskAbortedError, error.message);
    });
  });

  it('a task that calls process.exit(): its thread crashed', async () => {
    await fresh();
    await endsOneThread('crash', async (manager) => {
      const error = await rejectionOf(manager.run('exit', {}));
      assert.ok(error instanceof WorkerCrashedError, error.message);
    });
  });

  it('an error thrown from a timer of a running task: its thread crashed', async () => {
    await fresh();
    await endsOneThread('crash', async (manager) => {
      const error = await rejectionOf(manager.run('uncaught', {}));
      assert.ok(error instanceof WorkerCrashedError, error.message);
    });
  });

  it('a thread past maxTasksPerWorker: it is recycled', async () => {
    await fresh({ maxTasksPerWorker: 2 });
    const { app, events } = current!;
    await threadOf(app.manager);
    // Its second task, the whoami that names it, retires the thread.
    await endsOneThread('recycled', async () => {
      const recycled = events.flatMap((e) => (e.type === 'worker.recycled' ? [e.threadId] : []));
      assert.equal(recycled.length, 1, 'recycled once');
    });
  });
});
