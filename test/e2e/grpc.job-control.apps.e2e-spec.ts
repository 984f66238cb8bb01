/**
 * Job control end to end over gRPC, with real worker threads: a server app
 * (WorkerModule on an InMemoryTaskClient, its own loop off, serving the
 * store with GrpcTaskServerModule) and a worker app (WorkerModule over
 * GrpcTaskClient). A running task's progress reaches the server's store; a
 * cancel made in the server app (its store) or in the worker app
 * (WorkerManager.cancel, through the server) aborts the handler in the
 * worker's thread, and the task ends cancelled. A task with
 * concurrencyPerKey runs one per key at a time on a worker with two
 * threads: its permits come from the server's store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InMemoryTaskClient, TASK_CLIENT, WorkerManager, WorkerModule, type WorkerEvent } from '../../lib/index.js';
import { GrpcTaskClient, GrpcTaskServerModule } from '../../lib/grpc.js';
import { GrpcControlTasksModule } from '../fixtures/grpc/control.tasks.js';
import { quiet } from '../support/grpc.support.js';
import { freePort } from '../support/services.js';

const tasksModule = {
  module: GrpcControlTasksModule,
  file: new URL('../fixtures/grpc/control.tasks.js', import.meta.url),
};

/** Waits for `done()`, failing after a generous bound (a wait for something that never happens, not a timing). */
const until = async (done: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`waited 30 s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('gRPC job control with a server app and a worker app', () => {
  let server: INestApplicationContext;
  let worker: INestApplicationContext;
  let store: InMemoryTaskClient;
  let manager: WorkerManager;

  before(async () => {
    const port = await freePort();
    const serverRef = await Test.createTestingModule({
      imports: [
        WorkerModule.forRoot({ tasksModule, loop: { autoStart: false }, workers: 1 }),
        GrpcTaskServerModule.forRootAsync({
          inject: [TASK_CLIENT],
          useFactory: (inner: InMemoryTaskClient) => ({
            store: inner,
            address: `127.0.0.1:${port}`,
            leaseMs: 2000,
            logger: quiet,
          }),
        }),
      ],
    }).compile();
    serverRef.useLogger(false);
    server = await serverRef.init();
    store = server.get<InMemoryTaskClient>(TASK_CLIENT);
    const workerRef = await Test.createTestingModule({
      imports: [
        WorkerModule.forRoot({
          tasksModule,
          workers: 2,
          timeoutGraceMs: 2000,
          client: { useFactory: () => GrpcTaskClient.connect({ url: `grpc://127.0.0.1:${port}`, logger: quiet }) },
        }),
      ],
    }).compile();
    workerRef.useLogger(false);
    worker = await workerRef.init();
    manager = worker.get(WorkerManager);
  });

  after(async () => {
    await worker?.close();
    await server?.close();
  });

  for (const where of ['the server app’s store', 'the worker app’s WorkerManager'] as const) {
    it(`progress reaches the server's store; a cancel in ${where} aborts the remote handler`, async () => {
      const id = store.enqueue('grpc.until-cancelled', { steps: 100_000 });
      let cancelled: Extract<WorkerEvent, { type: 'task.cancelled' }> | undefined;
      const subscription = manager.events$.subscribe((event) => {
        if (event.type === 'task.cancelled' && event.taskId === id) cancelled = event;
      });
      await until(() => store.get(id)?.state === 'running', 'the task to run');
      await until(
        () => ((store.get(id)?.progress as { step?: number } | undefined)?.step ?? 0) >= 2,
        'its progress to reach the server’s store',
      );
      const answer = where === 'the server app’s store' ? store.cancel(id) : await manager.cancel(id);
      assert.equal(answer, true);
      await until(() => cancelled !== undefined, 'task.cancelled in the worker app').finally(() =>
        subscription.unsubscribe(),
      );
      assert.equal(cancelled!.started, true, 'it was running in the worker’s thread');
      const record = store.get(id)!;
      assert.equal(record.state, 'cancelled');
      assert.equal(record.result, undefined, 'the aborted handler’s return value is not its result');
      await until(() => store.counts().running === 0, 'nothing to be running');
    });
  }

  it('concurrencyPerKey: tasks of one key never overlap, with two threads pulling through the server', async () => {
    const keys = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'];
    const ids = store.enqueueMany(
      keys.map((concurrencyKey) => ({ name: 'grpc.keyed', payload: { ms: 30 }, concurrencyKey })),
    );
    const records = await Promise.all(
      ids.map((id) => store.waitFor<{ start: number; end: number }>(id, AbortSignal.timeout(60_000))),
    );
    assert.deepEqual(
      records.map((r) => r.state),
      keys.map(() => 'completed'),
    );
    for (const key of ['a', 'b']) {
      const runs = records
        .filter((_, i) => keys[i] === key)
        .map((r) => r.result!)
        .sort((x, y) => x.start - y.start);
      for (let i = 1; i < runs.length; i++)
        assert.ok(runs[i]!.start >= runs[i - 1]!.end, `key ${key}: a run started before the one before it ended`);
    }
  });
});
