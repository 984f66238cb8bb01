/**
 * Cancel by id with real worker threads and the in-memory client: a task
 * cancelled while queued never runs; one running gets its ctx.signal aborted
 * with a TaskCancelledError, and one that never yields has its thread stopped
 * after timeoutGraceMs and replaced. Each delivery has exactly one outcome.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import {
  InMemoryTaskClient,
  WorkerModule,
  type WorkerEvent,
  type WorkerModuleExtras,
  type WorkerModuleOptions,
} from '../../lib/index.js';
import { CancelProgressTasksModule } from '../fixtures/cancel-progress.tasks.js';
import { boot, until, type BootedApp } from '../support/app.js';

const tasksFile = new URL('../fixtures/cancel-progress.tasks.js', import.meta.url);

/** Cells a handler writes in its thread and the test reads here (see cancel-progress.tasks.ts). */
const flags = () => new Int32Array(new SharedArrayBuffer(8));

/** An app over CancelProgressTasksModule with these worker options. */
function bootCancelApp(
  options: Omit<WorkerModuleOptions, 'tasksModule'> & Partial<WorkerModuleExtras>,
  logger?: false,
): Promise<BootedApp> {
  @Module({
    imports: [
      CancelProgressTasksModule,
      WorkerModule.forRoot({ tasksModule: { module: CancelProgressTasksModule, file: tasksFile }, ...options }),
    ],
  })
  class CancelAppModule {}
  return boot(CancelAppModule, logger);
}

describe('cancel by id (WorkerManager.cancel) with worker threads', () => {
  let booted: BootedApp;
  let client: InMemoryTaskClient;
  const events: WorkerEvent[] = [];
  const of = (id: string, type?: WorkerEvent['type']) =>
    events.filter((e) => 'taskId' in e && e.taskId === id && (type === undefined || e.type === type));

  before(async () => {
    booted = await bootCancelApp({ workers: 2, timeoutGraceMs: 500 });
    client = booted.app.get(InMemoryTaskClient);
    booted.manager.events$.subscribe((event) => events.push(event));
  });
  after(() => booted.close());

  it('a task cancelled while it waits in this process’s queue never runs', async () => {
    const gates = [flags(), flags()];
    const gateIds = gates.map((f) => client.enqueue('jc.gate', { flags: f }));
    await until(() => gates.every((f) => Atomics.load(f, 0) === 1), 10_000, 'both threads held');
    const target = flags();
    const id = client.enqueue('jc.mark', { flags: target });
    await until(() => of(id, 'task.fetched').length === 1, 10_000, 'the loop to hold the task');
    assert.equal(await booted.manager.cancel(id), true);
    assert.equal(client.get(id)!.state, 'cancelled');
    await until(() => of(id, 'task.cancelled').length === 1, 10_000, 'the cancelled outcome');
    assert.deepEqual(
      of(id, 'task.cancelled').map((e) => (e as { started: boolean }).started),
      [false],
    );
    for (const gate of gates) Atomics.store(gate, 1, 1);
    await Promise.all(gateIds.map((g) => client.waitFor(g)));
    // Both threads are free now; had the task been admitted, it would have run.
    assert.equal(Atomics.load(target, 0), 0, 'the cancelled task ran');
    assert.equal(of(id, 'task.started').length, 0);
    assert.equal(client.get(id)!.state, 'cancelled');
  });

  it('a running async handler: its ctx.signal aborts with a TaskCancelledError and the outcome is cancelled', async () => {
    const f = flags();
    const id = client.enqueue('jc.await-signal', { flags: f });
    await until(() => Atomics.load(f, 0) === 1, 10_000, 'the handler to start');
    const before = booted.manager.stats().cancelled;
    assert.equal(await booted.manager.cancel(id), true);
    const record = await client.waitFor(id);
    assert.equal(record.state, 'cancelled');
    await until(() => Atomics.load(f, 0) >= 2, 10_000, 'the handler to see its signal');
    assert.equal(Atomics.load(f, 0), 3, 'signal.reason is a TaskCancelledError (ERR_WORKER_TASK_CANCELLED)');
    await until(() => of(id, 'task.cancelled').length === 1, 10_000, 'task.cancelled');
    assert.equal((of(id, 'task.cancelled')[0] as { started: boolean }).started, true);
    assert.deepEqual(
      of(id)
        .map((e) => e.type)
        .filter((t) => t === 'task.completed' || t === 'task.failed' || t === 'task.retrying'),
      [],
      'no other outcome',
    );
    assert.equal(booted.manager.stats().cancelled, before + 1);
    assert.equal(record.errors.length, 0, 'a cancel is not a failed attempt');
  });

  it('a handler that never yields: its thread is stopped after timeoutGraceMs and replaced; the pool goes on', async () => {
    const f = flags();
    const startedBefore = events.filter((e) => e.type === 'worker.started').length;
    const id = client.enqueue('jc.spin', { flags: f });
    await until(() => Atomics.load(f, 0) === 1, 10_000, 'the handler to start');
    assert.equal(await booted.manager.cancel(id), true);
    assert.equal(client.get(id)!.state, 'cancelled', 'cancelled in the store at once');
    await until(() => of(id, 'task.cancelled').length === 1, 15_000, 'the thread to be stopped');
    await until(
      () => events.filter((e) => e.type === 'worker.started').length > startedBefore,
      10_000,
      'a replacement thread (worker.started)',
    );
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => booted.manager.run<number>('jc.noop', i)));
    assert.deepEqual(
      results,
      Array.from({ length: 20 }, (_, i) => i),
    );
    await until(() => booted.manager.stats().workers.alive === 2, 10_000, 'the replacement thread');
    assert.equal(of(id, 'task.failed').length + of(id, 'task.completed').length, 0);
  });

  it('cancel() of a finished or unknown task resolves false; of a delayed one, true and it never runs', async () => {
    const done = client.enqueue('jc.noop', 1);
    await client.waitFor(done);
    assert.equal(await booted.manager.cancel(done), false);
    assert.equal(await booted.manager.cancel('no-such-task'), false);
    const f = flags();
    const later = client.enqueue('jc.mark', { flags: f }, { delayMs: 200 });
    assert.equal(await booted.manager.cancel(later), true);
    const marker = client.enqueue('jc.noop', 2, { delayMs: 400 });
    await client.waitFor(marker);
    assert.equal(Atomics.load(f, 0), 0);
    assert.equal(client.get(later)!.state, 'cancelled');
    await assert.rejects(booted.manager.cancel(''), TypeError);
  });

  it('nothing is lost: of many tasks cancelled as they run, each ends once, completed or cancelled as cancel() said', async () => {
    const ids = client.enqueueMany(Array.from({ length: 200 }, (_, i) => ({ name: 'jc.noop', payload: i })));
    const answers = await Promise.all(ids.filter((_, i) => i % 3 === 0).map((id) => booted.manager.cancel(id)));
    const cancelled = new Set(ids.filter((_, i) => i % 3 === 0).filter((_, k) => answers[k]));
    const records = await Promise.all(ids.map((id) => client.waitFor(id)));
    for (const record of records) {
      assert.equal(record.state, cancelled.has(record.id) ? 'cancelled' : 'completed', record.id);
      const finals = of(record.id).filter((e) => e.type === 'task.completed' || e.type === 'task.cancelled');
      assert.ok(finals.length <= 1, `${record.id}: ${finals.map((e) => e.type).join(', ')}`);
    }
    assert.ok(cancelled.size > 0, 'some were cancelled');
  });
});

describe('cancel in another process: the holder hears it through watchCancels', () => {
  // Two applications on one InMemoryTaskClient stand for two processes on one store:
  // the canceller does not hold the task, so only the store's notice can reach the holder.
  const shared = new InMemoryTaskClient();
  let holder: BootedApp;
  let canceller: BootedApp;
  const events: WorkerEvent[] = [];

  before(async () => {
    const make = (autoStart: boolean) =>
      bootCancelApp({ workers: 1, timeoutGraceMs: 500, loop: { autoStart }, client: { useValue: shared } });
    holder = await make(true);
    canceller = await make(false);
    holder.manager.events$.subscribe((event) => events.push(event));
  });
  after(async () => {
    await canceller?.close();
    await holder?.close();
  });

  it('a running handler there is aborted and the delivery ends cancelled, once', async () => {
    const f = flags();
    const id = shared.enqueue('jc.await-signal', { flags: f });
    await until(() => Atomics.load(f, 0) === 1, 10_000, 'the holder to start the handler');
    assert.equal(await canceller.manager.cancel(id), true);
    await until(() => Atomics.load(f, 0) >= 2, 10_000, 'the handler to see its signal');
    assert.equal(Atomics.load(f, 0), 3);
    await until(
      () => events.some((e) => e.type === 'task.cancelled' && e.taskId === id),
      10_000,
      'task.cancelled in the holder',
    );
    assert.equal(holder.manager.stats().cancelled, 1);
    assert.equal(canceller.manager.stats().cancelled, 0, 'the canceller held nothing');
    assert.equal(shared.get(id)!.state, 'cancelled');
  });
});

describe('cancel when the store refuses it', () => {
  /** A store whose cancel() fails, as a database that went away would. */
  class FailingCancelClient extends InMemoryTaskClient {
    override cancel(): boolean {
      throw new Error('store unreachable');
    }
  }
  const failing = new FailingCancelClient();
  let booted: BootedApp;
  const events: WorkerEvent[] = [];

  before(async () => {
    booted = await bootCancelApp({ workers: 1, timeoutGraceMs: 300, client: { useValue: failing } }, false);
    booted.manager.events$.subscribe((event) => events.push(event));
  });
  after(() => booted.close());

  it('the caller gets the error, and the task aborted here meanwhile is released, not lost, and runs again', async () => {
    const f = flags();
    const id = failing.enqueue('jc.gate', { flags: f });
    await until(() => Atomics.load(f, 0) === 1, 10_000, 'the handler to start');
    await assert.rejects(booted.manager.cancel(id), /store unreachable/);
    // It ignores its signal: its thread is stopped after the grace period; it comes back as the same attempt.
    await until(
      () => events.some((e) => e.type === 'task.released' && e.taskId === id),
      10_000,
      'the stopped delivery to be released',
    );
    Atomics.store(f, 1, 1);
    const record = await failing.waitFor(id);
    assert.equal(record.state, 'completed');
    assert.equal(record.result, 'opened');
    assert.equal(record.attempt, 1, 'released, not charged');
    assert.equal(booted.manager.stats().cancelled, 0);
    assert.ok(!events.some((e) => e.type === 'task.cancelled'));
  });
});
