/**
 * Job control on PostgresTaskClient against a real PostgreSQL (PG_URL):
 * cancel (waiting, running with its notice and fencing), progress, released
 * with a delay, unique keys (keep, replace, races between clients),
 * concurrency keys, permits (per-key concurrency and rate limits) and
 * schedule markers. Every test has a queue of its own; "another process" is
 * another client with its own pool and LISTEN connection.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LoggerService } from '@nestjs/common';
import { PostgresTaskClient, type PostgresTaskClientOptions } from '../../lib/postgres.js';
import type { TaskEnvelope, TaskOutcome } from '../../lib/index.js';
import { POSTGRES_SCHEMA_VERSION } from '../../lib/clients/postgres/postgres.migrations.js';
import { sleep, until } from '../support/app.js';

const url = process.env.PG_URL;
const never = new AbortController().signal;

/** A logger that keeps what it is told, to assert that fenced cancels are not reported as lost leases. */
function recordingLogger(): LoggerService & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    log: () => undefined,
    warn: (message: unknown) => void warnings.push(String(message)),
    error: (message: unknown) => void warnings.push(String(message)),
  };
}

const completed = (task: TaskEnvelope, result: unknown = null): TaskOutcome => ({
  status: 'completed',
  task,
  result,
  durationMs: 1,
});

describe('PostgresTaskClient job control', { skip: url ? false : 'PG_URL is not set (run through npm test)' }, () => {
  const clients: PostgresTaskClient[] = [];

  function client(options: Partial<PostgresTaskClientOptions> = {}): PostgresTaskClient {
    const made = new PostgresTaskClient({
      connectionString: url!,
      cleanupIntervalMs: 0,
      logger: recordingLogger(),
      ...options,
    });
    clients.push(made);
    return made;
  }

  /** A producer and a consumer (another "process") on a fresh queue. */
  function pair(options: Partial<PostgresTaskClientOptions> = {}) {
    const queue = `jc-${randomUUID().slice(0, 8)}`;
    const logger = recordingLogger();
    return {
      queue,
      producer: client({ queue, ...options }),
      consumer: client({ queue, logger, ...options }),
      logger,
    };
  }

  async function take(consumer: PostgresTaskClient, count: number): Promise<TaskEnvelope[]> {
    const got: TaskEnvelope[] = [];
    await until(
      async () => {
        got.push(...(await consumer.fetch(count - got.length, never)));
        return got.length >= count;
      },
      10_000,
      `${count} task(s) to be fetched`,
    );
    return got;
  }

  before(async () => {
    const result = await client().migrate();
    assert.equal(result.version, POSTGRES_SCHEMA_VERSION);
    assert.ok(POSTGRES_SCHEMA_VERSION >= 4);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  describe('cancel', () => {
    it('a waiting task is never delivered; unknown and finished tasks answer false', async () => {
      const { producer, consumer } = pair();
      const id = await producer.enqueue('jc.noop', { n: 1 });
      const later = await producer.enqueue('jc.noop', { n: 2 }, { delayMs: 60_000 });
      const done = await producer.enqueue('jc.noop', { n: 3 });
      assert.equal(await producer.cancel(id), true);
      assert.equal(await producer.cancel(later), true, 'a delayed task is waiting too');
      assert.equal(await producer.cancel(id), false, 'already cancelled');
      assert.equal(await producer.cancel('no-such-task'), false);
      const [task] = await take(consumer, 1);
      assert.equal(task!.id, done, 'only the task that was not cancelled is delivered');
      await consumer.publish([completed(task!)]);
      assert.equal(await producer.cancel(done), false, 'a completed task cannot be cancelled');
      assert.deepEqual(await consumer.fetch(10, never), []);
      const record = await producer.get(id);
      assert.equal(record?.state, 'cancelled');
      assert.equal(typeof record?.finishedAt, 'number');
      const counts = await producer.counts();
      assert.equal(counts.cancelled, 2);
      assert.equal(counts.completed, 1);
    });

    it('a running task: cancelled at once, its holder told by NOTIFY in another process, its outcome and lease extension fenced quietly', async () => {
      const { producer, consumer, logger } = pair({ leaseMs: 2000 });
      const heard: string[] = [];
      const stop = consumer.watchCancels((ids) => heard.push(...ids));
      try {
        await until(async () => consumer.listening, 10_000, 'the consumer to LISTEN');
        const id = await producer.enqueue('jc.long', {});
        const other = await producer.enqueue('jc.long', {});
        const tasks = await take(consumer, 2);
        await consumer.markStarted(tasks);
        const task = tasks.find((t) => t.id === id)!;
        const kept = tasks.find((t) => t.id === other)!;
        assert.equal(await producer.cancel(id), true);
        await until(() => heard.includes(id), 10_000, 'the cancel notice to reach the holder');
        assert.deepEqual(heard, [id], 'only the cancelled task is named');
        assert.equal((await producer.get(id))?.state, 'cancelled');

        const lost = await consumer.extendLeases(tasks);
        assert.deepEqual(
          lost.map((t) => t.id),
          [id],
          'the cancelled delivery is reported lost; the other is extended',
        );
        await consumer.publish([completed(task, 'late'), completed(kept, 'ok')]);
        const record = await producer.get(id);
        assert.equal(record?.state, 'cancelled', 'the late outcome changed nothing');
        assert.equal(record?.result, undefined);
        assert.equal((await producer.get(other))?.state, 'completed');
        await consumer.publish([{ status: 'cancelled', task, started: true }]);
        assert.equal((await producer.get(id))?.state, 'cancelled');
        assert.equal(consumer.stats.lostLeases, 0, 'a cancel is not a lost lease');
        assert.equal(consumer.stats.staleOutcomes, 0, 'nor a stale outcome');
        assert.deepEqual(logger.warnings, []);
      } finally {
        stop();
      }
    });

    it('a cancelled outcome of a delivery still running closes it as cancelled (idempotent)', async () => {
      const { producer, consumer } = pair();
      const id = await producer.enqueue('jc.noop');
      const [task] = await take(consumer, 1);
      await consumer.publish([{ status: 'cancelled', task: task!, started: false }]);
      assert.equal((await producer.get(id))?.state, 'cancelled');
      assert.equal(await producer.cancel(id), false);
    });

    it('without LISTEN, a cancel through this client still reaches its own watchers', async () => {
      const { producer } = pair({ listen: false });
      const heard: string[] = [];
      const stop = producer.watchCancels((ids) => heard.push(...ids));
      try {
        const id = await producer.enqueue('jc.noop');
        await take(producer, 1);
        assert.equal(await producer.cancel(id), true);
        assert.deepEqual(heard, [id]);
      } finally {
        stop();
      }
    });
  });

  describe('progress and delayed release', () => {
    it('stores the latest progress per delivery, fenced by its lease; a new attempt starts without it', async () => {
      const { producer, consumer, logger } = pair();
      const id = await producer.enqueue('jc.noop');
      const [task] = await take(consumer, 1);
      await consumer.reportProgress([
        { task: task!, value: 10 },
        { task: task!, value: { pct: 50, step: 'resize' } },
      ]);
      assert.deepEqual((await producer.get(id))?.progress, { pct: 50, step: 'resize' });
      const stale = { ...task!, receipt: randomUUID() };
      await consumer.reportProgress([{ task: stale, value: 99 }]);
      assert.deepEqual((await producer.get(id))?.progress, { pct: 50, step: 'resize' }, 'a wrong token writes nothing');
      await consumer.reportProgress([{ task: task!, value: 'x'.repeat(70_000) }]);
      assert.deepEqual((await producer.get(id))?.progress, { pct: 50, step: 'resize' }, 'a huge value is dropped');
      await consumer.reportProgress([{ task: task!, value: 10n }]);
      assert.deepEqual((await producer.get(id))?.progress, { pct: 50, step: 'resize' }, 'a BigInt is dropped');
      assert.equal(logger.warnings.filter((w) => /dropped a progress value/.test(w)).length, 2, 'each drop is logged');
      await consumer.publish([{ status: 'released', task: task! }]);
      const [again] = await take(consumer, 1);
      assert.equal((await producer.get(again!.id))?.progress, undefined, 'the next delivery starts without progress');
    });

    it('released with delayMs waits that long, uncharged; without it, it goes back to its place', async () => {
      const { producer, consumer } = pair();
      const id = await producer.enqueue('jc.noop');
      const [task] = await take(consumer, 1);
      await consumer.publish([{ status: 'released', task: task!, delayMs: 60_000 }]);
      const record = await producer.get(id);
      assert.equal(record?.state, 'delayed');
      assert.equal(record?.attempt, 1, 'no attempt charged');
      assert.ok(record!.runAt > Date.now() + 50_000, `due in about a minute, got ${record!.runAt - Date.now()} ms`);
      assert.deepEqual(await consumer.fetch(10, never), []);
    });
  });

  describe('unique keys', () => {
    it("'keep' returns the waiting or running task's id; the key is free once it finishes or is cancelled", async () => {
      const { producer, consumer } = pair();
      const first = await producer.enqueue('jc.sync', { v: 1 }, { uniqueKey: 'acct-1' });
      assert.equal(await producer.enqueue('jc.sync', { v: 2 }, { uniqueKey: 'acct-1' }), first);
      const otherName = await producer.enqueue('jc.other', { v: 1 }, { uniqueKey: 'acct-1' });
      assert.notEqual(otherName, first, 'keys are scoped per task name');
      assert.deepEqual((await producer.get(first))?.payload, { v: 1 });
      assert.equal((await producer.get(first))?.uniqueKey, 'acct-1');

      const tasks = await take(consumer, 2);
      const running = tasks.find((t) => t.id === first)!;
      assert.equal(
        await producer.enqueue('jc.sync', { v: 3 }, { uniqueKey: 'acct-1', onDuplicate: 'replace' }),
        first,
        'a running task is kept, even with replace',
      );
      assert.deepEqual((await producer.get(first))?.payload, { v: 1 });
      await consumer.publish(tasks.map((t) => completed(t)));
      const next = await producer.enqueue('jc.sync', { v: 4 }, { uniqueKey: 'acct-1' });
      assert.notEqual(next, first, 'free again after completion');
      assert.equal(await producer.cancel(next), true);
      const afterCancel = await producer.enqueue('jc.sync', { v: 5 }, { uniqueKey: 'acct-1' });
      assert.notEqual(afterCancel, next, 'free again after cancel');
      void running;
    });

    it("'replace' updates a waiting task in place: same id, new payload, delay and priority", async () => {
      const { producer } = pair();
      const id = await producer.enqueue('jc.sync', { v: 1 }, { uniqueKey: 'k', delayMs: 60_000, concurrencyKey: 'a' });
      const again = await producer.enqueue(
        'jc.sync',
        { v: 2 },
        { uniqueKey: 'k', onDuplicate: 'replace', priority: 5, concurrencyKey: 'b' },
      );
      assert.equal(again, id);
      const record = await producer.get(id);
      assert.deepEqual(record?.payload, { v: 2 });
      assert.equal(record?.priority, 5);
      assert.equal(record?.state, 'queued', 'the new delay (none) applies');
      assert.equal(record?.concurrencyKey, 'b');
      assert.equal((await producer.counts()).queued, 1);
    });

    it('enqueueMany: duplicates within the batch and against the store, in order, all or nothing', async () => {
      const { producer } = pair();
      const existing = await producer.enqueue('jc.sync', { v: 0 }, { uniqueKey: 'x' });
      const ids = await producer.enqueueMany([
        { name: 'jc.sync', payload: { v: 1 }, uniqueKey: 'x' },
        { name: 'jc.sync', payload: { v: 2 }, uniqueKey: 'y' },
        { name: 'jc.plain', payload: { v: 3 } },
        { name: 'jc.sync', payload: { v: 4 }, uniqueKey: 'y' },
        { name: 'jc.sync', payload: { v: 5 }, uniqueKey: 'y', onDuplicate: 'replace' },
      ]);
      assert.equal(ids[0], existing);
      assert.equal(ids[1], ids[3]);
      assert.equal(ids[1], ids[4]);
      assert.deepEqual((await producer.get(ids[1]!))?.payload, { v: 5 }, 'the last replace wins');
      assert.deepEqual((await producer.get(existing))?.payload, { v: 0 }, 'keep left it as it was');
      assert.equal((await producer.counts()).queued, 3);
      await assert.rejects(
        producer.enqueueMany([
          { name: 'jc.sync', payload: { v: 6 }, uniqueKey: 'z' },
          { name: 'jc.sync', payload: { n: 1n } },
        ]),
        /cannot be written as JSON/,
      );
      assert.equal((await producer.counts()).queued, 3, 'nothing of the refused batch was written');
    });

    it('clients enqueueing the same keys at once get one task per key and the same ids', async () => {
      const queue = `jc-${randomUUID().slice(0, 8)}`;
      const racers = Array.from({ length: 6 }, () => client({ queue, listen: false }));
      const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
      const results = await Promise.all(
        racers.map((racer, r) =>
          r % 2 === 0
            ? Promise.all(keys.map((key) => racer.enqueue('jc.race', { r }, { uniqueKey: key })))
            : racer.enqueueMany(
                [...keys].reverse().map((key) => ({ name: 'jc.race', payload: { r }, uniqueKey: key })),
              ),
        ),
      );
      const byKey = keys.map(
        (_, k) => new Set(results.map((ids, r) => (r % 2 === 0 ? ids[k] : ids[keys.length - 1 - k]))),
      );
      for (const [k, ids] of byKey.entries()) assert.equal(ids.size, 1, `${keys[k]} got ${ids.size} ids`);
      assert.equal((await racers[0]!.counts()).queued, keys.length);
    });
  });

  describe('concurrency keys and permits', () => {
    it('carries the concurrency key on the envelope and the record', async () => {
      const { producer, consumer } = pair();
      const id = await producer.enqueue('jc.tenant', {}, { concurrencyKey: 'tenant-7' });
      const [task] = await take(consumer, 1);
      assert.equal(task!.concurrencyKey, 'tenant-7');
      assert.equal((await producer.get(id))?.concurrencyKey, 'tenant-7');
    });

    it('at most K permits per key across clients; a permit ends with its outcome or its lease', async () => {
      const { producer, consumer } = pair({ leaseMs: 1000 });
      const second = client({ queue: (producer as PostgresTaskClient).queue, leaseMs: 1000 });
      await producer.enqueueMany([
        ...Array.from({ length: 3 }, () => ({ name: 'jc.tenant', concurrencyKey: 'a' })),
        { name: 'jc.tenant', concurrencyKey: 'b' },
        { name: 'jc.tenant' },
      ]);
      const one = await take(consumer, 3);
      const two = await take(second, 2);
      const ask = (holder: PostgresTaskClient, tasks: TaskEnvelope[]) =>
        holder.acquirePermits(tasks.map((task) => ({ task, concurrencyPerKey: 2 })));
      const answers = [...(await ask(consumer, one)), ...(await ask(second, two))];
      const all = [...one, ...two];
      const grantedA = all.filter((t, i) => t.concurrencyKey === 'a' && answers[i]!.granted);
      const deniedA = all.filter((t, i) => t.concurrencyKey === 'a' && !answers[i]!.granted);
      assert.equal(grantedA.length, 2, 'two of key a');
      assert.equal(deniedA.length, 1);
      const denied = answers[all.indexOf(deniedA[0]!)]!;
      assert.ok(!denied.granted && denied.retryAfterMs > 0);
      for (const [i, t] of all.entries()) {
        if (t.concurrencyKey !== 'a') assert.ok(answers[i]!.granted, `${t.concurrencyKey ?? 'no key'} is granted`);
      }
      // The denied one waits (released with the delay); one holder publishes: a slot frees.
      const holderOf = (t: TaskEnvelope) => (one.includes(t) ? consumer : second);
      await holderOf(deniedA[0]!).publish([{ status: 'released', task: deniedA[0]!, delayMs: 10 }]);
      await holderOf(grantedA[0]!).publish([completed(grantedA[0]!)]);
      const [retried] = await take(consumer, 1);
      assert.equal(retried!.id, deniedA[0]!.id);
      assert.deepEqual(await ask(consumer, [retried!]), [{ granted: true }]);
      // No slot left for key a: a third holder is denied until a lease runs out.
      const extra = await producer.enqueue('jc.tenant', {}, { concurrencyKey: 'a' });
      const [third] = await take(second, 1);
      assert.equal(third!.id, extra);
      assert.equal((await ask(second, [third!]))[0]!.granted, false);
      // grantedA[1] is never extended: once its lease is over its permit counts no more.
      const keep = setInterval(() => void consumer.extendLeases([retried!]), 250);
      try {
        await until(
          async () => (await ask(second, [third!]))[0]!.granted,
          15_000,
          'the permit of a delivery whose lease ran out to free its slot',
        );
      } finally {
        clearInterval(keep);
      }
    });

    it('a rate limit grants at most max per interval across clients, and says when the next slot frees', async () => {
      const { producer, consumer } = pair();
      const second = client({ queue: producer.queue });
      await producer.enqueueMany(Array.from({ length: 8 }, () => ({ name: 'jc.rated' })));
      const one = await take(consumer, 4);
      const two = await take(second, 4);
      const rateLimit = { max: 3, intervalMs: 60_000 };
      const [a, b] = await Promise.all([
        consumer.acquirePermits(one.map((task) => ({ task, rateLimit }))),
        second.acquirePermits(two.map((task) => ({ task, rateLimit }))),
      ]);
      const answers = [...a, ...b];
      assert.equal(answers.filter((x) => x.granted).length, 3, 'three grants in the window');
      for (const answer of answers) {
        if (!answer.granted) {
          assert.ok(answer.retryAfterMs > 0 && answer.retryAfterMs <= 60_000, `retry after ${answer.retryAfterMs}`);
        }
      }
      // Another name has a window of its own.
      const id = await producer.enqueue('jc.other-rated');
      const [other] = await take(consumer, 1);
      assert.equal(other!.id, id);
      assert.deepEqual(await consumer.acquirePermits([{ task: other!, rateLimit }]), [{ granted: true }]);
    });

    it('a short window frees its slots as it slides', async () => {
      const { producer, consumer } = pair();
      await producer.enqueueMany(Array.from({ length: 3 }, () => ({ name: 'jc.fast' })));
      const tasks = await take(consumer, 3);
      const rateLimit = { max: 2, intervalMs: 300 };
      const answers = await consumer.acquirePermits(tasks.map((task) => ({ task, rateLimit })));
      assert.deepEqual(
        answers.map((x) => x.granted),
        [true, true, false],
      );
      const wait = (answers[2] as { retryAfterMs: number }).retryAfterMs;
      assert.ok(wait >= 1 && wait <= 300, `retry after ${wait}`);
      await sleep(wait + 50);
      assert.deepEqual(await consumer.acquirePermits([{ task: tasks[2]!, rateLimit }]), [{ granted: true }]);
    });
  });

  describe('schedules', () => {
    it('fires a tick once, only if later than the marker; a new schedule records or fires per whenNew', async () => {
      const { producer, consumer } = pair();
      const key = `report-${randomUUID().slice(0, 6)}`;
      const task = { name: 'jc.report', payload: { kind: 'daily' } };
      assert.equal(await producer.fireSchedule({ key, tick: 1000, task, whenNew: 'record' }), undefined);
      const fired = await producer.fireSchedule({ key, tick: 2000, task, whenNew: 'record' });
      assert.equal(typeof fired, 'string');
      assert.equal(await consumer.fireSchedule({ key, tick: 2000, task, whenNew: 'fire' }), undefined, 'same tick');
      assert.equal(await consumer.fireSchedule({ key, tick: 1500, task, whenNew: 'fire' }), undefined, 'earlier tick');
      const other = await producer.fireSchedule({ key: `${key}-b`, tick: 1000, task, whenNew: 'fire' });
      assert.equal(typeof other, 'string', "a new schedule with whenNew 'fire' fires");
      assert.deepEqual((await producer.get(fired!))?.payload, { kind: 'daily' });
      assert.equal((await producer.counts()).queued, 2);
    });

    it('ten clients offering the same ticks at once fire each tick once', async () => {
      const queue = `jc-${randomUUID().slice(0, 8)}`;
      const offerers = Array.from({ length: 10 }, () => client({ queue, listen: false }));
      const key = 'every-second';
      await offerers[0]!.fireSchedule({ key, tick: 0, task: { name: 'jc.tick' }, whenNew: 'record' });
      for (let tick = 1; tick <= 5; tick++) {
        const ids = await Promise.all(
          offerers.map((o) =>
            o.fireSchedule({ key, tick: tick * 1000, task: { name: 'jc.tick', payload: { tick } }, whenNew: 'fire' }),
          ),
        );
        assert.equal(ids.filter((id) => id !== undefined).length, 1, `tick ${tick} fired once`);
      }
      assert.equal((await offerers[0]!.counts()).queued, 5);
    });
  });

  it('cleanup deletes cancelled rows past their retention, like finished ones', async () => {
    const { producer } = pair({ keepCompletedMs: 0 });
    const id = await producer.enqueue('jc.noop');
    assert.equal(await producer.cancel(id), true);
    await sleep(5);
    assert.ok((await producer.cleanup()) >= 1);
    assert.equal(await producer.get(id), undefined);
  });
});
