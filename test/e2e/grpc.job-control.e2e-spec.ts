/**
 * Job control over gRPC (issue 14's contract through the task service):
 * cancel, cancel notices to remote workers, progress, permits, released
 * with a delay, unique and concurrency keys on enqueue, schedule fires and
 * dead-letter retries, against a GrpcTaskServer over loopback serving an
 * InMemoryTaskClient (whose leases the server keeps); and a store without
 * these members, whose calls fail with UNIMPLEMENTED naming the store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { InMemoryTaskClient, TaskLimitsUnsupportedError, WorkerModule, type TaskEnvelope } from '../../lib/index.js';
import { GrpcTaskClient, GrpcTaskServerError } from '../../lib/grpc.js';
import { boot, rejectionOf } from '../support/app.js';
import { quiet, recordingLogger, serve, type Served } from '../support/grpc.support.js';
import { ScheduledTasksModule } from '../fixtures/job-control.tasks.js';

const scheduleTasksFile = new URL('../fixtures/job-control.tasks.js', import.meta.url);

const take = async (client: GrpcTaskClient, count: number): Promise<TaskEnvelope[]> => {
  const got: TaskEnvelope[] = [];
  const deadline = Date.now() + 15_000;
  while (got.length < count && Date.now() < deadline)
    got.push(...(await client.fetch(count - got.length, AbortSignal.timeout(1000))));
  assert.equal(got.length, count, `expected ${count} task(s)`);
  return got;
};

/** Fetches until the tasks of `ids` came, in the order of `ids`; others that came on the way are released. */
const takeIds = async (client: GrpcTaskClient, ids: readonly string[]): Promise<TaskEnvelope[]> => {
  const got = new Map<string, TaskEnvelope>();
  const others: TaskEnvelope[] = [];
  const deadline = Date.now() + 15_000;
  while (got.size < ids.length && Date.now() < deadline)
    for (const task of await client.fetch(10, AbortSignal.timeout(1000)))
      if (ids.includes(task.id)) got.set(task.id, task);
      else others.push(task);
  if (others.length > 0) await client.publish(others.map((task) => ({ status: 'released' as const, task })));
  assert.equal(got.size, ids.length, `expected the tasks ${ids.join(', ')}`);
  return ids.map((id) => got.get(id)!);
};

/** Waits for `done()`, failing after a generous bound (a wait for something that never happens, not a timing). */
const until = async (done: () => boolean | Promise<boolean>, what = 'the condition'): Promise<void> => {
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    if (Date.now() > deadline) assert.fail(`waited 20 s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** Extends the leases of `tasks` as a worker loop would, until the returned function is called. */
const keepAlive = (client: GrpcTaskClient, tasks: readonly TaskEnvelope[]): (() => void) => {
  const timer = setInterval(() => void client.extendLeases(tasks).catch(() => undefined), 100);
  return () => clearInterval(timer);
};

describe('gRPC job control, in-memory store behind the server', () => {
  let store: InMemoryTaskClient;
  let served: Served;
  const clients: GrpcTaskClient[] = [];
  const connect = async () => {
    const client = await GrpcTaskClient.connect({ url: served.url, fetchWaitMs: 200, logger: quiet });
    clients.push(client);
    return client;
  };

  before(async () => {
    store = new InMemoryTaskClient({ maxFinished: 10_000 });
    served = await serve(store, { leaseMs: 1500 });
  });
  after(async () => {
    for (const client of clients) client.close();
    await served.close();
  });

  it('tells the worker which optional members its store has', async () => {
    const client = await connect();
    assert.deepEqual(
      [...(client.storeFeatures ?? [])].sort(),
      ['acquirePermits', 'cancel', 'fireSchedule', 'reportProgress', 'retryDeadLetter', 'watchCancels'].filter(
        (name) => typeof (store as unknown as Record<string, unknown>)[name] === 'function',
      ),
    );
  });

  it('cancel(id): a queued task is cancelled in the store and never delivered', async () => {
    const client = await connect();
    const [keep, drop] = await client.enqueueMany([
      { name: 'jc.cancel', payload: 'keep' },
      { name: 'jc.cancel', payload: 'drop' },
    ]);
    assert.equal(await client.cancel(drop!), true);
    assert.equal(await client.cancel(drop!), false, 'a second cancel finds it finished');
    assert.equal(await client.cancel('jc-no-such-task'), false);
    assert.equal(store.get(drop!)?.state, 'cancelled');
    assert.equal((await client.counts()).cancelled, 1);
    const [task] = await take(client, 1);
    assert.equal(task!.id, keep);
    await client.publish([{ status: 'completed', task: task!, result: null, durationMs: 1 }]);
  });

  it('a running task cancelled through the server, or in the server’s own store, reaches the remote holder’s watchCancels', async () => {
    const producer = await connect();
    const holder = await connect();
    const notices: string[] = [];
    const stop = holder.watchCancels((ids) => notices.push(...ids));
    try {
      // The Watch stream is open once its first event came (it wakes the worker).
      let woke = false;
      const unwatch = holder.watch(() => (woke = true));
      await until(() => woke);
      unwatch();
      const [viaServer, viaStore] = await producer.enqueueMany([
        { name: 'jc.running', payload: 1 },
        { name: 'jc.running', payload: 2 },
      ]);
      const tasks = await take(holder, 2);
      // Through the gRPC service, and through the server app's own store (its
      // local WorkerManager, a dashboard): both reach the remote holder.
      assert.equal(await producer.cancel(viaServer!), true);
      assert.equal(store.cancel(viaStore!), true);
      await until(() => notices.includes(viaServer!) && notices.includes(viaStore!));
      // The holder's late outcome is fenced; its next extension reports the delivery lost.
      const late = tasks.find((t) => t.id === viaServer)!;
      await holder.publish([{ status: 'completed', task: late, result: 'too late', durationMs: 1 }]);
      assert.equal(store.get(viaServer!)?.state, 'cancelled');
      assert.equal(store.get(viaServer!)?.result, undefined);
      const lost = await holder.extendLeases(tasks);
      assert.deepEqual(lost.map((t) => t.id).sort(), [viaServer, viaStore].sort());
      await holder.publish(tasks.map((task) => ({ status: 'cancelled' as const, task, started: true })));
      assert.equal(store.get(viaStore!)?.state, 'cancelled');
      assert.equal((await producer.counts()).running, 0);
    } finally {
      stop();
    }
  });

  it('a worker whose Watch stream opens after a cancel still hears of it', async () => {
    const producer = await connect();
    const holder = await connect();
    const id = await producer.enqueue('jc.late-watch', null);
    const [task] = await takeIds(holder, [id]);
    assert.equal(await producer.cancel(id), true);
    const notices: string[] = [];
    const stop = holder.watchCancels((ids) => notices.push(...ids));
    try {
      await until(() => notices.includes(id));
    } finally {
      stop();
    }
    await holder.publish([{ status: 'cancelled', task: task!, started: false }]);
  });

  it('a cancelled outcome travels as cancelled, not as released', async () => {
    const client = await connect();
    const id = await client.enqueue('jc.outcome', null);
    const [task] = await take(client, 1);
    await client.publish([{ status: 'cancelled', task: task!, started: false }]);
    // A loop that cancelled without the store: the store finishes it as cancelled (a release would requeue it).
    assert.equal(store.get(id)?.state, 'cancelled');
  });

  it('reportProgress(): the latest value reaches get(id), and a stale delivery’s is fenced', async () => {
    const client = await connect();
    const id = await client.enqueue('jc.progress', null);
    const [first] = await take(client, 1);
    await client.reportProgress([{ task: first!, value: 10 }]);
    await client.reportProgress([{ task: first!, value: { step: 'parse', done: 3, of: 7 } }]);
    assert.deepEqual((await client.get(id))?.progress, { step: 'parse', done: 3, of: 7 });
    await client.publish([{ status: 'released', task: first! }]);
    const [second] = await take(client, 1);
    await client.reportProgress([{ task: first!, value: 'stale' }]);
    assert.notEqual((await client.get(id))?.progress, 'stale', 'the released delivery is fenced');
    await client.reportProgress([{ task: second!, value: 55 }]);
    assert.equal(store.get(id)?.progress, 55);
    await client.publish([{ status: 'completed', task: second!, result: 1, durationMs: 1 }]);
  });

  it('a progress value JSON cannot carry is dropped with one warning, the others sent', async () => {
    const logger = recordingLogger();
    const client = await GrpcTaskClient.connect({ url: served.url, fetchWaitMs: 200, logger });
    clients.push(client);
    const id = await client.enqueue('jc.progress.bigint', null);
    const [task] = await take(client, 1);
    await client.reportProgress([{ task: task!, value: 10n }]);
    await client.reportProgress([{ task: task!, value: 20n }]);
    assert.equal(logger.lines.filter((line) => line.includes('jc.progress.bigint')).length, 1);
    await client.reportProgress([{ task: task!, value: 30 }]);
    assert.equal(store.get(id)?.progress, 30);
    await client.publish([{ status: 'completed', task: task!, result: 1, durationMs: 1 }]);
  });

  it('concurrency keys: the key travels with the delivery, permits hold across workers, and a dead worker’s permit comes back with its lease', async () => {
    const producer = await connect();
    const a = await connect();
    const b = await connect();
    const ids = await producer.enqueueMany(
      [0, 1, 2].map((n) => ({ name: 'jc.keyed', payload: n, concurrencyKey: 'tenant-1' })),
    );
    assert.equal(store.get(ids[0]!)?.concurrencyKey, 'tenant-1');
    const [held] = await take(a, 1);
    const [waits, third] = await take(b, 2);
    const stop = keepAlive(b, [third!]);
    assert.equal(held!.concurrencyKey, 'tenant-1');
    const limit = { concurrencyPerKey: 1 };
    assert.deepEqual(await a.acquirePermits([{ task: held!, ...limit }]), [{ granted: true }]);
    const [denied] = await b.acquirePermits([{ task: waits!, ...limit }]);
    assert.equal(denied!.granted, false);
    assert.ok(!denied!.granted && denied!.retryAfterMs > 0, 'a denial says how long to wait');
    // The denied delivery waits, uncharged, for the delay the answer gave.
    await b.publish([{ status: 'released', task: waits!, delayMs: 60_000 }]);
    assert.equal(store.get(waits!.id)?.state, 'delayed');
    assert.equal(store.get(waits!.id)?.attempt, 1);
    assert.equal((await b.acquirePermits([{ task: third!, ...limit }]))[0]!.granted, false);
    // Worker a dies holding the permit (it stops extending); the server decides its lease lost
    // and gives the delivery back to the store, which frees the permit.
    a.close();
    await until(async () => (await b.acquirePermits([{ task: third!, ...limit }]))[0]!.granted);
    // The dead worker's delivery came back too; it is not granted while the third holds the key.
    const [again] = await take(b, 1);
    assert.equal(again!.id, held!.id);
    assert.equal((await b.acquirePermits([{ task: again!, ...limit }]))[0]!.granted, false);
    stop();
    await b.publish(
      [third!, again!].map((task) => ({ status: 'completed' as const, task, result: null, durationMs: 1 })),
    );
  });

  it('rate limits are asked of the store, one answer per request in order', async () => {
    const client = await connect();
    const ids = await client.enqueueMany([0, 1, 2].map((n) => ({ name: 'jc.rated', payload: n })));
    const tasks = await takeIds(client, ids);
    const rateLimit = { max: 2, intervalMs: 60_000 };
    const answers = await client.acquirePermits(
      ids.map((id) => ({ task: tasks.find((t) => t.id === id)!, rateLimit })),
    );
    assert.deepEqual(
      answers.map((answer) => answer.granted),
      [true, true, false],
    );
    await client.publish(tasks.map((task) => ({ status: 'completed' as const, task, result: null, durationMs: 1 })));
  });

  it('unique keys: a second enqueue with the key returns the first id, or replaces its payload', async () => {
    const client = await connect();
    const first = await client.enqueue('jc.unique', 'one', { uniqueKey: 'k' });
    assert.equal(await client.enqueue('jc.unique', 'two', { uniqueKey: 'k' }), first);
    assert.equal(store.get(first)?.payload, 'one');
    assert.equal(await client.enqueue('jc.unique', 'three', { uniqueKey: 'k', onDuplicate: 'replace' }), first);
    assert.equal(store.get(first)?.payload, 'three');
    assert.equal(store.get(first)?.uniqueKey, 'k');
    assert.notEqual(await client.enqueue('jc.unique.other', 'x', { uniqueKey: 'k' }), first, 'scoped per task name');
    await assert.rejects(client.enqueue('jc.unique', 1, { uniqueKey: '' }), TypeError);
    await assert.rejects(client.enqueue('jc.unique', 1, { uniqueKey: 'k', onDuplicate: 'swap' as 'keep' }), TypeError);
  });

  it('fireSchedule(): one fire per key and tick, however many workers offer it', async () => {
    const [a, b] = [await connect(), await connect()];
    const tick = Date.UTC(2026, 0, 1, 6);
    const fire = { key: 'jc.daily', tick, task: { name: 'jc.daily', payload: { tick } }, whenNew: 'fire' as const };
    const ids = await Promise.all([a.fireSchedule(fire), b.fireSchedule(fire), a.fireSchedule(fire)]);
    const fired = ids.filter((id) => id !== undefined);
    assert.equal(fired.length, 1);
    assert.deepEqual(store.get(fired[0]!)?.payload, { tick });
    assert.equal(await b.fireSchedule({ ...fire, key: 'jc.new', whenNew: 'record' }), undefined);
  });

  it('retryDeadLetter(): a dead letter is back as attempt 1', async () => {
    const client = await connect();
    const id = await client.enqueue('jc.dead', null, { maxAttempts: 1 });
    const [task] = await takeIds(client, [id]);
    await client.publish([{ status: 'failed', task: task!, reason: 'error', error: { name: 'Error', message: 'no' } }]);
    assert.equal(await client.retryDeadLetter(id), true);
    assert.equal(store.get(id)?.state, 'queued');
    assert.equal(await client.retryDeadLetter(id), false);
  });
});

describe('gRPC job control, a store without it', () => {
  let served: Served;
  let client: GrpcTaskClient;
  const logger = recordingLogger();

  before(async () => {
    const inner = new InMemoryTaskClient();
    // The members of a store written before job control, and nothing else.
    const store = {
      fetch: inner.fetch.bind(inner),
      publish: inner.publish.bind(inner),
      enqueue: inner.enqueue.bind(inner),
      enqueueMany: inner.enqueueMany.bind(inner),
      get: inner.get.bind(inner),
      counts: inner.counts.bind(inner),
      deadLetters: inner.deadLetters.bind(inner),
    };
    class LegacyStore {}
    Object.setPrototypeOf(store, LegacyStore.prototype);
    served = await serve(store, { leaseMs: 1000 });
    client = await GrpcTaskClient.connect({ url: served.url, fetchWaitMs: 200, logger });
  });
  after(async () => {
    client.close();
    await served.close();
  });

  it('says the store has none of the optional members', () => {
    assert.deepEqual(client.storeFeatures, []);
  });

  it('cancel, permits, schedules and dead-letter retries fail with UNIMPLEMENTED, naming the store', async () => {
    const id = await client.enqueue('legacy.task', null);
    const [task] = await take(client, 1);
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['cancel', () => client.cancel(id)],
      ['acquirePermits', () => client.acquirePermits([{ task: task!, concurrencyPerKey: 1 }])],
      ['fireSchedule', () => client.fireSchedule({ key: 'k', tick: 1, task: { name: 'x' }, whenNew: 'fire' })],
      ['retryDeadLetter', () => client.retryDeadLetter(id)],
    ];
    for (const [feature, call] of calls)
      await assert.rejects(call(), (error: Error) => {
        assert.ok(error instanceof GrpcTaskServerError, String(error));
        assert.equal(error.status, 'UNIMPLEMENTED');
        assert.ok(error.message.includes(`LegacyStore) has no ${feature}()`), error.message);
        return true;
      });
  });

  it('progress is dropped after one warning that the server keeps none', async () => {
    await client.enqueue('legacy.progress', null);
    const [task] = await take(client, 1);
    await client.reportProgress([{ task: task!, value: 1 }]);
    await client.reportProgress([{ task: task!, value: 2 }]);
    assert.equal(logger.lines.filter((line) => line.includes('keeps no progress')).length, 1);
  });

  it('a worker whose tasks have limits fails to register them, naming the server’s store, as a local client would', () => {
    assert.throws(
      () => client.registerTasks([{ name: 'legacy.limited', maxAttempts: 3, concurrencyPerKey: 2 }]),
      (error: Error) => {
        assert.ok(error instanceof TaskLimitsUnsupportedError, String(error));
        assert.ok(error.message.includes('"legacy.limited"'), error.message);
        assert.ok(error.message.includes(`${served.url} (its store, LegacyStore)`), error.message);
        return true;
      },
    );
    client.registerTasks([{ name: 'legacy.plain', maxAttempts: 3 }]);
  });

  it('a worker app with a schedule fails the boot naming the schedule and the server, as a local client without markers does', async () => {
    @Module({
      imports: [
        ScheduledTasksModule,
        WorkerModule.forRoot({
          tasksModule: { module: ScheduledTasksModule, file: scheduleTasksFile },
          workers: 1,
          client: { useValue: client },
          schedules: [{ task: 'sched.tick', cron: '0 6 * * *' }],
        }),
      ],
    })
    class LegacyScheduleApp {}
    const error = await rejectionOf(boot(LegacyScheduleApp, false));
    assert.equal(error.code, 'ERR_WORKER_SCHEDULES_UNSUPPORTED', String(error));
    assert.ok(error.message.includes('"sched.tick"'), error.message);
    assert.ok(error.message.includes(`the store behind GrpcTaskClient (${served.url})`), error.message);
  });
});
