/**
 * PostgresTaskClient under the faults of the durable-clients audit, against
 * the runner's PostgreSQL (PG_URL): far-off delays, lost and crossed leases,
 * lost replies, a queue the statistics do not know, killed consumers, rows
 * written by other tools, hostile names in logs. Each test works on a queue
 * (or schema) of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Module, type LoggerService } from '@nestjs/common';
import pg from 'pg';
import { MAX_TIMER_MS } from '../../lib/common/backoff.js';
import { FREE_UNSTARTED_EXPIRIES, PostgresStatements } from '../../lib/clients/postgres/postgres.statements.js';
import { PostgresTaskClient, type PostgresTaskClientOptions } from '../../lib/postgres.js';
import { WorkerModule, type TaskEnvelope } from '../../lib/index.js';
import { ChaosTasksModule } from '../fixtures/chaos.tasks.js';
import { boot, chaosTasksFile, sleep, until } from '../support/app.js';
import { FaultProxy } from './postgres.fault-proxy.js';

const url = process.env.PG_URL;
const never = new AbortController().signal;
const queueName = () => `q-${randomUUID().slice(0, 8)}`;

class CaptureLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string }> = [];
  log(message: unknown): void {
    this.lines.push({ level: 'log', message: String(message) });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  matching(pattern: RegExp): string[] {
    return this.lines.filter((l) => pattern.test(l.message)).map((l) => l.message);
  }
}

/** Counts the loop's fetches, to see whether it sleeps or spins. */
class CountingPostgresClient extends PostgresTaskClient {
  fetches = 0;
  override fetch(max: number, signal: AbortSignal): Promise<readonly TaskEnvelope[]> {
    this.fetches++;
    return super.fetch(max, signal);
  }
}

describe('PostgresTaskClient durability', { skip: url ? false : 'PG_URL is not set (run through npm test)' }, () => {
  const clients: PostgresTaskClient[] = [];
  let admin: pg.Pool;

  function client(options: Partial<PostgresTaskClientOptions> = {}): PostgresTaskClient {
    const made = new PostgresTaskClient({ connectionString: url!, cleanupIntervalMs: 0, listen: false, ...options });
    clients.push(made);
    return made;
  }

  before(async () => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
    await client().migrate();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await admin.end();
  });

  it('a task delayed past 2^31 ms leaves idle consumers asleep (no busy loop, no TimeoutOverflowWarning)', async (t) => {
    const queue = queueName();
    let overflows = 0;
    const onWarning = (warning: Error) => void (warning.name === 'TimeoutOverflowWarning' && overflows++);
    process.on('warning', onWarning);
    const consumer = new CountingPostgresClient({ connectionString: url!, queue, cleanupIntervalMs: 0 });
    clients.push(consumer);
    @Module({
      imports: [
        ChaosTasksModule,
        WorkerModule.forRoot({
          tasksModule: { module: ChaosTasksModule, file: chaosTasksFile },
          workers: 1,
          client: { useFactory: () => consumer },
        }),
      ],
    })
    class FarDelayAppModule {}
    const booted = await boot(FarDelayAppModule, ['error']);
    try {
      await until(() => consumer.listening, 10_000, 'LISTEN');
      const producer = client({ queue });
      await producer.enqueue('noop', null, { delayMs: MAX_TIMER_MS + 3_600_000 });
      const id = await producer.enqueue('noop', null);
      await until(async () => (await producer.get(id))?.state === 'completed', 10_000, 'the immediate task');
      await sleep(1000); // the idle backoff settles
      const before = consumer.fetches;
      await sleep(2000);
      const fetches = consumer.fetches - before;
      t.diagnostic(
        `idle consumer with a task due in 25 days: ${fetches} fetch(es) in 2 s, ${overflows} overflow warning(s)`,
      );
      assert.equal(overflows, 0, 'no delay reached setTimeout unclamped');
      assert.ok(fetches <= 20, `${fetches} fetches in 2 s: the loop spins`);
    } finally {
      process.off('warning', onWarning);
      await booted.close();
    }
  });

  it('extendLeases() returns the lost deliveries and counts each once, however often it is asked', async () => {
    const queue = queueName();
    const log = new CaptureLogger();
    const [frozen, other] = [client({ queue, leaseMs: 300, logger: log }), client({ queue, leaseMs: 300 })];
    await frozen.enqueueMany([1, 2, 3].map((payload) => ({ name: 'noop', payload })));
    const held = await frozen.fetch(10, never);
    await sleep(450); // frozen for longer than the lease
    assert.equal((await other.fetch(10, never)).length, 3, 'another consumer took them over');
    for (let i = 0; i < 4; i++) {
      const lost = await frozen.extendLeases(held);
      assert.deepEqual(new Set(lost), new Set(held), 'the very envelopes it was given');
    }
    assert.equal(frozen.stats.lostLeases, 3, 'three deliveries, each counted once');
    assert.equal(log.matching(/Lost the lease of/).length, 1, 'logged once');
    // Their late outcomes are fenced, counted as stale, and not reported a second time.
    await frozen.publish(held.map((task) => ({ status: 'completed' as const, task, result: 'late', durationMs: 1 })));
    assert.equal(frozen.stats.staleOutcomes, 3);
    assert.deepEqual(log.matching(/stale outcome/), []);
  });

  it('an outcome committed while the extension waited behind it is not a lost lease', async () => {
    const queue = queueName();
    const log = new CaptureLogger();
    const consumer = client({ queue, leaseMs: 5000, logger: log });
    await consumer.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ name: 'noop', payload: i })));
    const tasks = await consumer.fetch(30, never);
    const error = { name: 'Error', message: 'again' };
    // The loop extends every task it holds until its outcome is published; here
    // the extension is queued behind the publish that settles them.
    const publishing = consumer.publish(
      tasks.map((task, i) =>
        i % 3 === 0
          ? { status: 'completed' as const, task, result: i, durationMs: 1 }
          : i % 3 === 1
            ? {
                status: 'retry' as const,
                task,
                reason: 'error' as const,
                error,
                nextAttempt: 2,
                delayMs: 60_000,
                runAt: 0,
              }
            : { status: 'released' as const, task },
      ),
    );
    const extending = consumer.extendLeases(tasks);
    await publishing;
    assert.deepEqual([...(await extending)], []);
    assert.deepEqual([...(await consumer.extendLeases(tasks))], [], 'nor when asked after the publish');
    assert.equal(consumer.stats.lostLeases, 0);
    assert.deepEqual(log.lines, [], 'no warning at all');
  });

  it('a publish whose reply was lost is recognised on its retry, not logged as a takeover', async () => {
    const queue = queueName();
    const proxy = await FaultProxy.start(Number(new URL(url!).port));
    const log = new CaptureLogger();
    const proxied = new URL(url!);
    proxied.port = String(proxy.port);
    const consumer = client({ queue, connectionString: proxied.href, logger: log });
    try {
      const ids = await consumer.enqueueMany([1, 2, 3].map((payload) => ({ name: 'noop', payload })));
      const tasks = await consumer.fetch(10, never);
      const outcomes = tasks.map((task) => ({ status: 'completed' as const, task, result: 'once', durationMs: 1 }));
      proxy.loseReplyTo('AS completed, array(SELECT id FROM f)');
      await assert.rejects(consumer.publish(outcomes), 'the first try gets no answer');
      assert.equal(proxy.lost, 1);
      // It was committed all the same.
      assert.deepEqual(
        (await Promise.all(ids.map((id) => consumer.get(id)))).map((r) => r?.state),
        ['completed', 'completed', 'completed'],
      );
      // The worker loop retries the batch.
      await consumer.publish(outcomes);
      assert.equal(consumer.stats.staleOutcomes, 0);
      assert.deepEqual(log.matching(/stale outcome|took them over|taken back/), []);
      assert.equal(log.matching(/had been recorded already/).length, 1);
      // Leases of the settled tasks are not reported lost either.
      assert.deepEqual([...(await consumer.extendLeases(tasks))], []);
      assert.equal(consumer.stats.lostLeases, 0);
    } finally {
      await consumer.close();
      await proxy.close();
    }
  });

  it('a claim reads a bounded number of blocks on a queue the statistics do not know', async (t) => {
    const schema = `plan_${randomUUID().slice(0, 8)}`;
    const producer = client({ schema, queue: 'small' });
    try {
      await producer.migrate();
      // The statistics see a small, finished queue...
      await producer.enqueueMany(Array.from({ length: 500 }, (_, i) => ({ name: 'noop', payload: i })));
      const done = await producer.fetch(500, never);
      await producer.publish(done.map((task) => ({ status: 'completed' as const, task, result: null, durationMs: 0 })));
      await admin.query(`ANALYZE "${schema}".tasks`);
      // ...then a new queue of 30k tasks arrives at once.
      await client({ schema, queue: 'grown' }).enqueueMany(
        Array.from({ length: 30_000 }, (_, i) => ({ name: 'noop', payload: i })),
      );
      const sql = new PostgresStatements(schema);
      const db = await admin.connect();
      try {
        await db.query('BEGIN');
        const { rows } = await db.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql.claim}`, ['grown', 10, 30_000]);
        await db.query('ROLLBACK');
        const plan = rows[0]['QUERY PLAN'][0].Plan as Record<string, number>;
        const blocks = plan['Shared Hit Blocks']! + plan['Shared Read Blocks']!;
        t.diagnostic(`claiming 10 of 30k tasks on stale statistics read ${blocks} blocks`);
        // Reading the queue (what a plan on stale statistics does) takes tens of thousands.
        assert.ok(blocks < 3000, `${blocks} blocks for a claim of 10`);
      } finally {
        db.release();
      }
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('a killed consumer is charged only for the deliveries that had started; the rest come back as they were', async () => {
    const queue = queueName();
    const [victim, survivor] = [client({ queue, leaseMs: 300 }), client({ queue, leaseMs: 300 })];
    await victim.enqueueMany(Array.from({ length: 100 }, (_, i) => ({ name: 'noop', payload: i })));
    const held = await victim.fetch(100, never);
    assert.equal(held.length, 100);
    const started = held.slice(0, 3);
    await victim.markStarted(started);
    await victim.close(); // SIGKILL: nothing given back, nothing extended
    await sleep(400);
    const back = await survivor.fetch(200, never);
    assert.equal(back.length, 100);
    const startedIds = new Set(started.map((task) => task.id));
    for (const task of back) assert.equal(task.attempt, startedIds.has(task.id) ? 2 : 1, task.id);
    const records = await Promise.all(back.map((task) => survivor.get(task.id)));
    assert.equal(records.filter((r) => r!.errors.length > 0).length, 3, 'an error only where an attempt was charged');
    assert.equal(survivor.stats.expiredLeases, 100);
    assert.equal(survivor.stats.unchargedExpiries, 97);
  });

  it('takes back the prefetched deliveries of a dead consumer after half of its lease, the started ones after all of it', async () => {
    const queue = queueName();
    // Leases long enough that nothing runs out by itself: time passes by moving the leases back.
    const victim = client({ queue, leaseMs: 60_000 });
    // A consumer looks for expired leases every quarter lease: a fresh one looks at once.
    const survivor = () => client({ queue, leaseMs: 60_000 });
    await victim.enqueueMany(Array.from({ length: 8 }, (_, i) => ({ name: 'noop', payload: i })));
    const held = await victim.fetch(8, never);
    await victim.markStarted(held.slice(0, 2));
    await victim.close();
    const pass = (share: number) =>
      admin.query(
        `UPDATE nestjs_worker.tasks SET leased_at = leased_at - (lease_until - leased_at) * $2::float8,
                                        lease_until = lease_until - (lease_until - leased_at) * $2::float8
         WHERE queue = $1 AND state = 'running'`,
        [queue, share],
      );
    await pass(0.4);
    assert.deepEqual(await survivor().fetch(10, never), [], 'nothing back before half a lease');
    await pass(0.2); // 0.6 of the lease without an extension
    const second = survivor();
    const early = await second.fetch(10, never);
    assert.deepEqual(early.map((t) => t.payload).sort(), [2, 3, 4, 5, 6, 7], 'the unstarted ones, after half a lease');
    assert.ok(early.every((t) => t.attempt === 1));
    await second.publish(early.map((task) => ({ status: 'completed' as const, task, result: null, durationMs: 1 })));
    await pass(0.5); // the whole lease is over for the started ones
    const late = await survivor().fetch(10, never);
    assert.deepEqual(late.map((t) => [t.payload, t.attempt]).sort(), [
      [0, 2],
      [1, 2],
    ]);
  });

  it(`forgives ${FREE_UNSTARTED_EXPIRIES} unstarted expiries per attempt, not more: a task that kills its process before its start mark still dies`, async () => {
    const queue = queueName();
    const consumer = client({ queue, leaseMs: 200 });
    consumer.registerTasks([{ name: 'killer', maxAttempts: 1 }]);
    const id = await consumer.enqueue('killer', null);
    for (let death = 1; death <= FREE_UNSTARTED_EXPIRIES; death++) {
      assert.equal((await consumer.fetch(1, never))[0]?.attempt, 1, `delivery ${death}`);
      await sleep(300);
    }
    assert.equal((await consumer.fetch(1, never)).length, 1, 'the last forgiven delivery');
    await sleep(300);
    assert.deepEqual(await consumer.fetch(1, never), [], 'the next expiry is charged: dead');
    const record = (await consumer.get(id))!;
    assert.equal(record.state, 'failed');
    assert.equal(record.failureReason, 'crash');
    assert.deepEqual(
      record.errors.map((e) => e.code),
      ['ERR_WORKER_LEASE_EXPIRED'],
    );
  });

  it('takes back rows written as running without a lease (or without a token) by another tool', async () => {
    const queue = queueName();
    await admin.query(
      `INSERT INTO nestjs_worker.tasks (queue, id, name, payload, state, lease_token, lease_until) VALUES
         ($1, 'no-lease', 'noop', '1', 'running', NULL, NULL),
         ($1, 'token-only', 'noop', '2', 'running', gen_random_uuid(), NULL),
         ($1, 'expired-no-token', 'noop', '3', 'running', NULL, now() - interval '1 minute')`,
      [queue],
    );
    const consumer = client({ queue, leaseMs: 500 });
    const got = await consumer.fetch(10, never);
    assert.deepEqual(got.map((task) => task.id).sort(), ['expired-no-token', 'no-lease', 'token-only']);
    assert.ok(
      got.every((task) => task.attempt === 1),
      'never started here: not charged',
    );
    await consumer.publish(
      got.map((task) => ({ status: 'completed' as const, task, result: task.payload, durationMs: 1 })),
    );
    assert.equal((await consumer.get('no-lease'))?.result, 1);
  });

  it('logs task names and ids from outside escaped and bounded', async () => {
    const queue = queueName();
    const log = new CaptureLogger();
    const consumer = client({ queue, leaseMs: 200, maxAttempts: 1, logger: log });
    const hostile = `evil\n[ERROR] forged line \u001b[31mred\u001b[0m ${'n'.repeat(1_000_000)}`;
    const [a, b] = await consumer.enqueueMany([
      { name: hostile, payload: 1 },
      { name: 'noop', payload: 2, id: `id\r\n${'i'.repeat(100_000)}` },
    ]);
    const tasks = await consumer.fetch(10, never);
    const task = (id: string) => tasks.find((x) => x.id === id)!;
    // A result JSON cannot hold is logged with its task's name and id.
    await consumer.publish([{ status: 'completed', task: task(a!), result: 10n, durationMs: 1 }]);
    // A lease lost on the last attempt lists the ids.
    await consumer.markStarted([task(b!)]);
    await sleep(300);
    await consumer.fetch(10, never);
    assert.ok(
      log.matching(/cannot be stored as JSON/).length === 1,
      JSON.stringify(log.lines.map((l) => l.message.slice(0, 80))),
    );
    assert.ok(log.matching(/lost their lease on their last attempt/).length === 1);
    for (const { message } of log.lines) {
      assert.ok(!/[\n\r]/.test(message) && !message.includes('\u001b'), 'no control characters');
      assert.ok(message.length < 2000, `${message.length} characters`);
    }
  });
});
