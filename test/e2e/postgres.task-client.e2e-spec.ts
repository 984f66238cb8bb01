/**
 * PostgresTaskClient against a real PostgreSQL (PG_URL, started by the test
 * runner; the restart test starts one of its own). Every test works on a
 * queue (or schema) of its own, so tests never see each other's rows.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createServer, type Socket } from 'node:net';
import { Global, Injectable, Module } from '@nestjs/common';
import pg from 'pg';
import {
  POSTGRES_TASK_CLIENT_OPTIONS,
  PostgresTaskClient,
  type PostgresTaskClientOptions,
} from '../../lib/postgres.js';
import {
  TASK_CLIENT,
  WorkerModule,
  type TaskEnvelope,
  type TaskRecord,
  type WorkerLoopOptions,
  type WorkerModuleOptions,
} from '../../lib/index.js';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from '../../lib/clients/postgres/postgres.migrations.js';
import { ChaosTasksModule } from '../fixtures/chaos.tasks.js';
import { boot, sleep, until, type BootedApp } from '../support/app.js';
import { startPostgres } from '../support/services.js';

const url = process.env.PG_URL;
const PG_CONFIG = 'test:pg-config';
const never = new AbortController().signal;

/** How an app would hand configuration to the factory: a provider injected into it. */
function configModule(connectionString: string) {
  @Module({ providers: [{ provide: PG_CONFIG, useValue: { connectionString } }], exports: [PG_CONFIG] })
  class PgConfigModule {}
  return PgConfigModule;
}

const queueName = () => `q-${randomUUID().slice(0, 8)}`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('PostgresTaskClient', { skip: url ? false : 'PG_URL is not set (run through npm test)' }, () => {
  const clients: PostgresTaskClient[] = [];
  let admin: pg.Pool;

  /** A standalone client (producer, or a consumer driven by hand) on the shared test database. */
  function client(options: Partial<PostgresTaskClientOptions> = {}): PostgresTaskClient {
    const made = new PostgresTaskClient({ connectionString: url!, cleanupIntervalMs: 0, ...options });
    clients.push(made);
    return made;
  }

  /** A real Nest app with ChaosTasksModule in 2 worker threads, its client from a factory with inject. */
  async function bootApp(
    clientOptions: Partial<PostgresTaskClientOptions>,
    options: WorkerModuleOptions & { loop?: WorkerLoopOptions } = {},
    connectionString = url!,
  ): Promise<BootedApp> {
    @Module({
      imports: [
        ChaosTasksModule,
        WorkerModule.forRoot({
          tasksModule: { module: ChaosTasksModule, file: new URL('../fixtures/chaos.tasks.js', import.meta.url) },
          workers: 2,
          ...options,
          client: {
            imports: [configModule(connectionString)],
            inject: [PG_CONFIG],
            useFactory: (config: { connectionString: string }) =>
              new PostgresTaskClient({ ...config, migrate: true, ...clientOptions }),
          },
        }),
      ],
    })
    class PgAppModule {}
    return boot(PgAppModule, ['error']);
  }

  async function waitForAll(
    producer: PostgresTaskClient,
    ids: readonly string[],
    timeoutMs = 30_000,
  ): Promise<TaskRecord[]> {
    let records: Array<TaskRecord | undefined> = [];
    await until(
      async () => {
        records = await Promise.all(ids.map((id) => producer.get(id)));
        return records.every((r) => r?.state === 'completed' || r?.state === 'failed');
      },
      timeoutMs,
      `${ids.length} task(s) to finish`,
    );
    return records as TaskRecord[];
  }

  before(async () => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
    await client().migrate();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await admin.end();
  });

  it('migrates idempotently, and safely from several processes at once', async () => {
    const schema = `mig_${randomUUID().slice(0, 8)}`;
    try {
      const unmigrated = client({ schema });
      const missing = await unmigrated.enqueue('noop').then(
        () => undefined,
        (error: Error & { code?: string }) => error,
      );
      assert.equal(missing?.code, 'ERR_WORKER_POSTGRES_SCHEMA_MISSING');
      assert.match(missing!.message, /migrate\(\)/);
      const results = await Promise.all(Array.from({ length: 6 }, () => client({ schema }).migrate()));
      assert.equal(results.filter((r) => r.applied.length > 0).length, 1, 'exactly one migrator applies the steps');
      assert.ok(results.every((r) => r.version === POSTGRES_SCHEMA_VERSION));
      assert.deepEqual(await client({ schema }).migrate(), { applied: [], version: POSTGRES_SCHEMA_VERSION });
      const { rows } = await admin.query(`SELECT version FROM "${schema}".migrations ORDER BY version`);
      assert.deepEqual(
        rows,
        POSTGRES_MIGRATIONS.map(({ version }) => ({ version })),
      );
      assert.match(await unmigrated.enqueue('noop'), /^[0-9a-f-]{36}$/);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('runs enqueued tasks through a Nest app whose client comes from useFactory + inject', async () => {
    const queue = queueName();
    const booted = await bootApp({ queue });
    const producer = client({ queue });
    try {
      const app = booted.app.get<PostgresTaskClient>(TASK_CLIENT);
      assert.ok(app instanceof PostgresTaskClient);
      const ids = await producer.enqueueMany(
        Array.from({ length: 200 }, (_, i) => ({ name: 'add', payload: { a: i, b: 1000 } })),
      );
      const records = await waitForAll(producer, ids);
      assert.deepEqual(
        records.map((r) => r.result),
        Array.from({ length: 200 }, (_, i) => i + 1000),
      );
      assert.ok(
        records.every(
          (r) => r.state === 'completed' && r.attempt === 1 && r.errors.length === 0 && r.finishedAt! >= r.enqueuedAt,
        ),
      );
      assert.deepEqual(await producer.counts(), {
        queued: 0,
        delayed: 0,
        running: 0,
        completed: 200,
        failed: 0,
        cancelled: 0,
      });
      await booted.close();
      assert.equal(app.pool.ended, true, 'the pool the client made is ended at shutdown');
    } finally {
      await booted.close();
    }
  });

  it('works as a class provider too: options from a token, migrate: true applied in onModuleInit, injectable to enqueue', async () => {
    const schema = `cls_${randomUUID().slice(0, 8)}`;
    @Global()
    @Module({
      providers: [
        { provide: POSTGRES_TASK_CLIENT_OPTIONS, useValue: { connectionString: url, schema, migrate: true } },
      ],
      exports: [POSTGRES_TASK_CLIENT_OPTIONS],
    })
    class PgOptionsModule {}
    @Injectable()
    class Checkout {
      constructor(readonly tasks: PostgresTaskClient) {}
    }
    @Module({
      imports: [
        PgOptionsModule,
        ChaosTasksModule,
        WorkerModule.forRoot({
          tasksModule: { module: ChaosTasksModule, file: new URL('../fixtures/chaos.tasks.js', import.meta.url) },
          workers: 1,
          client: PostgresTaskClient,
        }),
      ],
      providers: [Checkout],
    })
    class ClassProviderAppModule {}
    const booted = await boot(ClassProviderAppModule, ['error']);
    try {
      const { tasks } = booted.app.get(Checkout);
      assert.equal(booted.app.get(TASK_CLIENT), tasks);
      const id = await tasks.enqueue('add', { a: 20, b: 22 });
      await until(async () => (await tasks.get(id))?.state === 'completed', 10_000, 'completion');
      assert.equal((await tasks.get(id))?.result, 42);
    } finally {
      await booted.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('returns from fetch() soon after its signal aborts, and hands back what a late claim got', async () => {
    // A server that accepts connections and never answers: the pool waits.
    const sockets = new Set<Socket>();
    const blackhole = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const { port } = blackhole.address() as { port: number };
    const stuck = new PostgresTaskClient({
      connectionString: `postgres://u:p@127.0.0.1:${port}/x`,
      listen: false,
      cleanupIntervalMs: 0,
    });
    try {
      const controller = new AbortController();
      const fetching = stuck.fetch(10, controller.signal);
      await sleep(100);
      const aborted = Date.now();
      controller.abort();
      assert.deepEqual(await fetching, []);
      assert.ok(Date.now() - aborted < 500, `returned ${Date.now() - aborted} ms after the abort`);
    } finally {
      for (const socket of sockets) socket.destroy();
      blackhole.close();
      await stuck.close();
    }
    // A claim held up by a table lock, its fetch aborted meanwhile: once the
    // claim goes through, its tasks go straight back to the queue.
    const queue = queueName();
    const consumer = client({ queue });
    const ids = await consumer.enqueueMany([{ name: 'noop' }, { name: 'noop' }]);
    const locker = await admin.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE nestjs_worker.tasks IN ACCESS EXCLUSIVE MODE');
      const controller = new AbortController();
      const fetching = consumer.fetch(10, controller.signal);
      await sleep(200);
      controller.abort();
      assert.deepEqual(await fetching, []);
      await locker.query('COMMIT');
    } finally {
      locker.release();
    }
    await consumer.close(); // waits for the late claim and its release
    assert.equal(consumer.stats.claimed, 2, 'the claim did go through after the abort');
    const records = await Promise.all(ids.map((id) => client({ queue }).get(id)));
    assert.ok(
      records.every((r) => r?.state === 'queued' && r.attempt === 1 && r.errors.length === 0),
      JSON.stringify(records),
    );
  });

  it('enqueues 100k tasks in chunks quickly, and two consumers claiming at once never get the same task', async (t) => {
    const queue = queueName();
    const producer = client({ queue });
    let started = performance.now();
    const ids = await producer.enqueueMany(
      Array.from({ length: 100_000 }, (_, i) => ({ name: 'noop', payload: { i } })),
    );
    const enqueueMs = performance.now() - started;
    assert.equal(new Set(ids).size, 100_000);
    assert.equal((await producer.counts()).queued, 100_000);
    const consumers = [client({ queue }), client({ queue })];
    started = performance.now();
    const claimed = await Promise.all(
      consumers.map(async (consumer) => {
        const mine: string[] = [];
        for (;;) {
          const tasks = await consumer.fetch(256, never);
          if (tasks.length === 0) return mine;
          mine.push(...tasks.map((task) => task.id));
          await consumer.publish(tasks.map((task) => ({ status: 'completed', task, result: null, durationMs: 0 })));
        }
      }),
    );
    const claimMs = performance.now() - started;
    const [a, b] = claimed as [string[], string[]];
    const ofB = new Set(b);
    const inBoth = a.filter((id) => ofB.has(id));
    assert.deepEqual(inBoth, [], 'SKIP LOCKED: no task claimed twice');
    assert.equal(a.length + b.length, 100_000);
    assert.ok(a.length > 0 && b.length > 0, 'both consumers got work');
    assert.equal((await producer.counts()).completed, 100_000);
    t.diagnostic(
      `enqueueMany(100k): ${enqueueMs.toFixed(0)} ms; 2 consumers claimed+completed 100k in ${claimMs.toFixed(0)} ms (${Math.round(100_000 / (claimMs / 1000))} tasks/s; ${a.length}/${b.length})`,
    );
    await admin.query(`DELETE FROM nestjs_worker.tasks WHERE queue = $1`, [queue]);
  });

  it('takes back an expired lease: the next claim runs it as attempt 2, and the stale outcome is fenced off', async () => {
    const queue = queueName();
    const [first, second] = [client({ queue, leaseMs: 300 }), client({ queue, leaseMs: 300 })];
    const id = await client({ queue }).enqueue('echo', 'hello');
    const [held] = await first.fetch(10, never);
    assert.equal(held?.attempt, 1);
    await first.markStarted([held!]);
    await sleep(450); // nobody extends it: as if `first` had died
    const [again] = await second.fetch(10, never);
    assert.equal(again?.id, id);
    assert.equal(again.attempt, 2, 'a lost lease counts as an attempt');
    assert.notEqual(again.receipt, held!.receipt, 'a fresh lease token per claim');
    // `first` comes back to life: its outcome and its lease extension are ignored.
    await first.publish([{ status: 'completed', task: held!, result: 'from the old holder', durationMs: 1 }]);
    await first.extendLeases([held!]);
    assert.equal(first.stats.staleOutcomes, 1);
    assert.equal(first.stats.lostLeases, 1);
    assert.equal((await first.get(id))?.state, 'running');
    await second.publish([{ status: 'completed', task: again, result: 'from the new holder', durationMs: 1 }]);
    const record = await first.get(id);
    assert.equal(record?.state, 'completed');
    assert.equal(record?.result, 'from the new holder');
    assert.deepEqual(
      record?.errors.map((e) => e.code),
      ['ERR_WORKER_LEASE_EXPIRED'],
    );
    assert.equal(second.stats.expiredLeases, 1);
  });

  it('extends the leases of held tasks, so a long task is not taken back', async () => {
    const queue = queueName();
    const [holder, other] = [client({ queue, leaseMs: 300 }), client({ queue, leaseMs: 300 })];
    await holder.enqueue('noop');
    const tasks = await holder.fetch(10, never);
    for (let i = 0; i < 6; i++) {
      await sleep(100);
      await holder.extendLeases(tasks);
    }
    assert.deepEqual(await other.fetch(10, never), [], 'still held after twice its lease');
    assert.equal(holder.stats.lostLeases, 0);
  });

  it('dead-letters a task whose process dies on every attempt, with reason "crash" and every lost attempt recorded', async () => {
    const queue = queueName();
    const consumer = client({ queue, leaseMs: 200 });
    const limited = await consumer.enqueue('noop', null, { maxAttempts: 2 });
    // Each fetch that starts the task and then does nothing is a process that died running it.
    const fetchAndStart = async () => {
      const tasks = await consumer.fetch(10, never);
      await consumer.markStarted(tasks);
      return tasks;
    };
    assert.equal((await fetchAndStart())[0]?.attempt, 1);
    await sleep(300);
    assert.equal((await fetchAndStart())[0]?.attempt, 2);
    await sleep(300);
    assert.deepEqual(await consumer.fetch(10, never), [], 'not delivered a third time');
    const record = (await consumer.get(limited))!;
    assert.equal(record.failureReason, 'crash');
    assert.equal(record.attempt, 2);
    assert.deepEqual(
      record.errors.map((e) => e.name),
      ['LeaseExpiredError', 'LeaseExpiredError'],
    );
    // Enqueued without maxAttempts: the client's maxAttempts option decides.
    const strict = client({ queue: queueName(), leaseMs: 200, maxAttempts: 1 });
    const once = await strict.enqueue('noop');
    await strict.markStarted(await strict.fetch(1, never));
    await sleep(300);
    assert.deepEqual(await strict.fetch(1, never), []);
    assert.equal((await strict.get(once))?.failureReason, 'crash');
  });

  it('claims by priority, then run time and enqueue order, and holds delayed tasks back until due', async () => {
    const queue = queueName();
    const consumer = client({ queue });
    const [a, b, c, d, e] = await consumer.enqueueMany([
      { name: 'noop', payload: 'a' },
      { name: 'noop', payload: 'b' },
      { name: 'noop', payload: 'c', priority: 5 },
      { name: 'noop', payload: 'd', delayMs: 600 },
      { name: 'noop', payload: 'e', delayMs: 600, priority: 10 },
    ]);
    assert.equal((await consumer.get(d!))?.state, 'delayed');
    const now = (await consumer.fetch(10, never)).map((task) => task.id);
    assert.deepEqual(now, [c, a, b]);
    assert.deepEqual(await consumer.counts(), {
      queued: 0,
      delayed: 2,
      running: 3,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    await sleep(700);
    assert.deepEqual(
      (await consumer.fetch(10, never)).map((task) => task.id),
      [e, d],
    );
    // An id of your own is a deduplication key.
    assert.equal(await consumer.enqueue('noop', 'again', { id: a }), a);
    assert.equal((await consumer.get(a!))?.payload, 'a');
  });

  it('records retries with their backoff, attempt numbers and errors, and keeps every error in the dead letter', async () => {
    const queue = queueName();
    const retry = { maxAttempts: 3, backoff: { initialMs: 400, factor: 1, maxMs: 400, jitter: 'none' as const } };
    const booted = await bootApp({ queue }, { retry });
    const producer = client({ queue });
    try {
      const id = await producer.enqueue('decline', { code: 'stolen' });
      let first!: TaskRecord;
      await until(async () => ((first = (await producer.get(id))!), first.errors.length >= 1), 10_000, 'first failure');
      assert.equal(first.attempt, 2, 'queued again as attempt 2');
      assert.ok(
        first.runAt - first.enqueuedAt >= 390,
        `run_at pushed back by the backoff (${first.runAt - first.enqueuedAt} ms)`,
      );
      const [record] = await waitForAll(producer, [id]);
      assert.equal(record!.state, 'failed');
      assert.equal(record!.failureReason, 'error');
      assert.equal(record!.attempt, 3);
      assert.equal(record!.errors.length, 3);
      assert.ok(
        record!.errors.every(
          (e) => e.name === 'PaymentDeclinedError' && e.props?.declineCode === 'stolen' && typeof e.stack === 'string',
        ),
      );
      // Not retried: NonRetryableError and unknown task names.
      const [fatal, unknown] = await waitForAll(
        producer,
        await producer.enqueueMany([{ name: 'fatal' }, { name: 'no-such-task', payload: 1 }]),
      );
      assert.equal(fatal!.state, 'failed');
      assert.equal(fatal!.errors.length, 1);
      assert.equal(unknown!.failureReason, 'unknown-task');
      assert.equal(unknown!.errors[0]!.code, 'ERR_WORKER_UNKNOWN_TASK');
    } finally {
      await booted.close();
    }
  });

  it('dead-letters rows whose payload cannot be decoded, naming them, and goes on with the others', async () => {
    const queue = queueName();
    const booted = await bootApp({ queue });
    const producer = client({ queue });
    try {
      // Rows as another tool might write them: not JSON, and an encoding this client does not know.
      await admin.query(
        `INSERT INTO nestjs_worker.tasks (queue, id, name, payload, payload_encoding)
         VALUES ($1, 'bad-json', 'echo', '{"unterminated', 'json'), ($1, 'bad-encoding', 'echo', 'gqFhAQ==', 'msgpack')`,
        [queue],
      );
      const good = await producer.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ name: 'echo', payload: { i } })));
      const [badJson, badEncoding, ...others] = await waitForAll(producer, ['bad-json', 'bad-encoding', ...good]);
      for (const [record, problem] of [
        [badJson!, /not valid JSON/],
        [badEncoding!, /payload_encoding "msgpack"/],
      ] as const) {
        assert.equal(record.state, 'failed');
        assert.equal(record.failureReason, 'invalid-payload');
        assert.equal(record.errors[0]!.code, 'ERR_WORKER_INVALID_TASK_ROW');
        assert.match(record.errors[0]!.message, new RegExp(`Task "echo" \\(id "${record.id}"\\)`));
        assert.match(record.errors[0]!.message, problem);
      }
      assert.deepEqual(
        others.map((r) => r.result),
        good.map((_, i) => ({ i })),
      );
    } finally {
      await booted.close();
    }
  });

  it('wakes an idle worker through LISTEN/NOTIFY within milliseconds', async (t) => {
    const queue = queueName();
    // Polling only every 10 s: a fast pickup can only come from NOTIFY.
    const booted = await bootApp({ queue }, { loop: { idleMinMs: 10_000, idleMaxMs: 10_000 } });
    const producer = client({ queue, listen: false });
    const fetched = new Map<string, number>();
    const subscription = booted.manager.events$.subscribe((event) => {
      if (event.type === 'task.fetched') fetched.set(event.taskId, event.at);
    });
    try {
      const app = booted.app.get<PostgresTaskClient>(TASK_CLIENT);
      await until(() => app.listening, 5000, 'LISTEN');
      await sleep(200);
      const latencies: number[] = [];
      for (let i = 0; i < 15; i++) {
        const sent = Date.now();
        const id = await producer.enqueue('noop');
        await until(() => fetched.has(id), 5000, `pickup of task ${i}`);
        latencies.push(fetched.get(id)! - sent);
        await sleep(150); // let the loop go back to sleep
      }
      t.diagnostic(
        `NOTIFY pickup latency (enqueue → fetched): median ${median(latencies)} ms, max ${Math.max(...latencies)} ms over ${latencies.length}`,
      );
      assert.ok(median(latencies) < 1000, `median ${median(latencies)} ms`);
      // A delayed task: the notification says when it is due, and the idle worker wakes then.
      const sent = Date.now();
      const delayed = await producer.enqueue('noop', null, { delayMs: 700 });
      await until(() => fetched.has(delayed), 5000, 'pickup of the delayed task');
      const delayedMs = fetched.get(delayed)! - sent;
      t.diagnostic(`a task delayed by 700 ms was picked up after ${delayedMs} ms`);
      assert.ok(delayedMs >= 650 && delayedMs < 3000, `${delayedMs} ms`);
    } finally {
      subscription.unsubscribe();
      await booted.close();
    }
  });

  it('deletes finished rows after their retention: completed and failed kept as long as configured', async () => {
    const queue = queueName();
    const consumer = client({ queue, keepCompletedMs: 0, keepFailedMs: 60_000 });
    const [done, dead] = await consumer.enqueueMany([{ name: 'noop' }, { name: 'noop' }]);
    const tasks = await consumer.fetch(10, never);
    const task = (id: string) => tasks.find((x) => x.id === id) as TaskEnvelope;
    const error = { name: 'Error', message: 'no' };
    await consumer.publish([
      { status: 'completed', task: task(done!), result: 1, durationMs: 1 },
      { status: 'failed', task: task(dead!), reason: 'error', error },
    ]);
    assert.equal(await consumer.cleanup(), 1);
    assert.equal(await consumer.get(done!), undefined);
    assert.equal((await consumer.get(dead!))?.state, 'failed', 'a dead letter is kept for keepFailedMs');
    // The periodic cleanup of a consuming client.
    const periodic = client({ queue: queueName(), keepFailedMs: 0, cleanupIntervalMs: 100 });
    const gone = await periodic.enqueue('noop');
    const [held] = await periodic.fetch(1, never);
    await periodic.publish([{ status: 'failed', task: held!, reason: 'error', error }]);
    await until(async () => (await periodic.get(gone)) === undefined, 5000, 'periodic cleanup');
  });

  it('hands queued tasks back at app.close(): rows queued again, same attempt, nothing lost', async () => {
    const queue = queueName();
    const producer = client({ queue });
    const ids = await producer.enqueueMany(
      Array.from({ length: 40 }, (_, i) => ({ name: 'sleep', payload: { ms: 150 + i } })),
    );
    const booted = await bootApp({ queue }, { shutdownTimeoutMs: 10_000 });
    await until(async () => (await producer.counts()).running >= 10, 10_000, 'tasks claimed');
    await booted.close();
    const counts = await producer.counts();
    assert.equal(counts.running, 0, 'nothing left leased to a closed app');
    assert.equal(counts.queued + counts.completed, 40);
    assert.ok(counts.queued > 0, 'some tasks were handed back');
    const queued = (await Promise.all(ids.map((id) => producer.get(id)))).filter((r) => r!.state === 'queued');
    assert.ok(
      queued.every((r) => r!.attempt === 1 && r!.errors.length === 0),
      'a release does not count as an attempt',
    );
    const next = await bootApp({ queue });
    try {
      const records = await waitForAll(producer, ids);
      assert.ok(records.every((r) => r.state === 'completed' && r.attempt === 1));
    } finally {
      await next.close();
    }
  });

  it('survives a server restart mid-run: reconnects, LISTENs again, and completes every task', async (t) => {
    const server = await startPostgres();
    const queue = queueName();
    let booted: BootedApp | undefined;
    const producer = new PostgresTaskClient({ connectionString: server.url, queue, listen: false });
    try {
      await producer.migrate();
      // Polling once per 10 s: after the outage only the LISTEN connection's
      // reconnect (which wakes the loop) and NOTIFY make things move quickly.
      booted = await bootApp({ queue, leaseMs: 5000 }, { loop: { idleMinMs: 10_000, idleMaxMs: 10_000 } }, server.url);
      const app = booted.app.get<PostgresTaskClient>(TASK_CLIENT);
      const ids = await producer.enqueueMany(
        Array.from({ length: 300 }, (_, i) => ({ name: 'sleep', payload: { ms: 15 + (i % 10) } })),
      );
      await until(async () => (await producer.counts()).completed >= 50, 30_000, '50 completed');
      await server.stop();
      await sleep(1000);
      await server.start();
      const records = await waitForAll(producer, ids, 90_000);
      assert.ok(
        records.every((r) => r.state === 'completed'),
        JSON.stringify(records.filter((r) => r.state !== 'completed').slice(0, 3)),
      );
      assert.deepEqual(
        records.map((r) => r.result),
        ids.map((_, i) => 15 + (i % 10)),
      );
      // A fast pickup proves the LISTEN connection is back.
      await until(() => app.listening, 20_000, 'LISTEN again');
      const fetched = new Map<string, number>();
      const subscription = booted.manager.events$.subscribe(
        (event) => event.type === 'task.fetched' && fetched.set(event.taskId, event.at),
      );
      await sleep(300);
      const sent = Date.now();
      const late = await producer.enqueue('noop');
      await until(() => fetched.has(late), 5000, 'pickup after the restart');
      subscription.unsubscribe();
      t.diagnostic(
        `after the restart: pickup in ${fetched.get(late)! - sent} ms; client stats ${JSON.stringify(app.stats)}`,
      );
    } finally {
      await booted?.close();
      await producer.close();
      await server.dispose();
    }
  });
});
