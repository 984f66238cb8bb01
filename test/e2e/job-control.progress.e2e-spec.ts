/**
 * ctx.progress() with real worker threads: throttled in the thread, it
 * reaches events$ (task.progress) for run(), map() and worker-loop tasks,
 * and the in-memory client's get(id).progress for loop tasks, the last
 * value winning; a value JSON cannot carry is dropped; the in-process test
 * pool does the same.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  InMemoryTaskClient,
  WorkerManager,
  WorkerModule,
  type TaskProgressEvent,
  type WorkerEvent,
} from '../../lib/index.js';
import { WORKER_POOL, WorkerTesting } from '../../lib/testing.js';
import { CancelProgressTasksModule } from '../fixtures/cancel-progress.tasks.js';
import { boot, until, type BootedApp } from '../support/app.js';

const tasksFile = new URL('../fixtures/cancel-progress.tasks.js', import.meta.url);

@Module({
  imports: [
    CancelProgressTasksModule,
    WorkerModule.forRoot({ tasksModule: { module: CancelProgressTasksModule, file: tasksFile }, workers: 2 }),
  ],
})
class ProgressAppModule {}

describe('ctx.progress() with worker threads', () => {
  let booted: BootedApp;
  let client: InMemoryTaskClient;
  const events: WorkerEvent[] = [];
  const progressOf = (id: string) =>
    events.filter((e): e is TaskProgressEvent => e.type === 'task.progress' && e.taskId === id);

  before(async () => {
    booted = await boot(ProgressAppModule);
    client = booted.app.get(InMemoryTaskClient);
    booted.manager.events$.subscribe((event) => events.push(event));
  });
  after(() => booted.close());

  it('a loop task’s progress reaches events$ and get(id), in order, the last value kept', async () => {
    const id = client.enqueue('jc.steps', { steps: 5, ms: 60 });
    const record = await client.waitFor(id);
    assert.equal(record.state, 'completed');
    assert.deepEqual(record.progress, { done: 5, of: 5 });
    const seen = progressOf(id);
    assert.ok(seen.length >= 1, 'at least one task.progress event');
    const done = seen.map((e) => (e.value as { done: number }).done);
    assert.deepEqual(
      done,
      [...done].sort((a, b) => a - b),
      'in order',
    );
    assert.deepEqual(seen.at(-1)!.value, { done: 5, of: 5 });
    assert.ok(seen.every((e) => e.source === 'client' && e.name === 'jc.steps' && e.attempt === 1));
    const completedAt = events.findIndex((e) => e.type === 'task.completed' && e.taskId === id);
    assert.ok(events.indexOf(seen.at(-1)!) < completedAt, 'the last progress comes before task.completed');
  });

  it('a busy synchronous handler is throttled in the thread, and its last value wins', async () => {
    const id = client.enqueue('jc.busy-progress', { ms: 500 });
    const record = await client.waitFor<number>(id);
    const count = record.result!;
    assert.ok(count > 1000, `the handler reported ${count} times`);
    assert.equal(record.progress, count, 'the last value reached the store');
    const seen = progressOf(id);
    assert.equal(seen.at(-1)!.value, count);
    // Every report would be `count` messages; the throttle sends a handful.
    assert.ok(seen.length * 100 < count, `${seen.length} events for ${count} reports`);
  });

  it('run() and map() report progress to events$', async () => {
    const before = events.length;
    assert.equal(await booted.manager.run('jc.steps', { steps: 3, ms: 20 }), 3);
    const runEvents = events.slice(before).filter((e): e is TaskProgressEvent => e.type === 'task.progress');
    assert.ok(runEvents.length >= 1);
    assert.ok(runEvents.every((e) => e.source === 'run'));
    assert.deepEqual(runEvents.at(-1)!.value, { done: 3, of: 3 });

    const mark = events.length;
    assert.deepEqual(
      await booted.manager.map('jc.steps', [
        { steps: 2, ms: 5 },
        { steps: 2, ms: 5 },
      ]),
      [2, 2],
    );
    const mapEvents = events.slice(mark).filter((e): e is TaskProgressEvent => e.type === 'task.progress');
    assert.ok(mapEvents.length >= 2, 'both items reported');
    assert.ok(mapEvents.every((e) => e.source === 'map'));
    assert.equal(new Set(mapEvents.map((e) => e.taskId)).size, 2);
  });

  it('a value JSON cannot carry is dropped; the good ones go through', async () => {
    const id = client.enqueue('jc.bad-progress', null);
    const record = await client.waitFor(id);
    assert.equal(record.state, 'completed');
    assert.equal(record.progress, 0.5);
    assert.ok(progressOf(id).every((e) => e.value === 0.5));
  });

  it('a handler that never reports sends nothing', async () => {
    const before = events.length;
    await Promise.all(Array.from({ length: 50 }, (_, i) => booted.manager.run('jc.noop', i)));
    const ids = client.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ name: 'jc.noop', payload: i })));
    await Promise.all(ids.map((id) => client.waitFor(id)));
    assert.equal(events.slice(before).filter((e) => e.type === 'task.progress').length, 0);
    assert.ok(ids.every((id) => !('progress' in client.get(id)!)));
  });
});

describe('ctx.progress() on the in-process test pool (nestjs-worker/testing)', () => {
  it('reaches events$ and get(id) as with threads', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ProgressAppModule] })
      .overrideProvider(WORKER_POOL)
      .useValue(WorkerTesting.inProcess())
      .setLogger({ log: () => undefined, warn: () => undefined, error: () => undefined })
      .compile();
    await moduleRef.init();
    try {
      const manager = moduleRef.get(WorkerManager);
      const client = moduleRef.get(InMemoryTaskClient);
      const seen: TaskProgressEvent[] = [];
      manager.events$.subscribe((e) => e.type === 'task.progress' && seen.push(e));
      const id = client.enqueue('jc.steps', { steps: 4, ms: 30 });
      const record = await client.waitFor(id);
      assert.deepEqual(record.progress, { done: 4, of: 4 });
      await until(() => seen.some((e) => e.taskId === id), 5000, 'a progress event');
      assert.deepEqual(seen.filter((e) => e.taskId === id).at(-1)!.value, { done: 4, of: 4 });
      assert.equal(await manager.run('jc.steps', { steps: 2, ms: 5 }), 2);
      assert.ok(seen.some((e) => e.source === 'run'));
    } finally {
      await moduleRef.close();
    }
  });
});
