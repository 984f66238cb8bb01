/**
 * Job control on RedisTaskClient against a real redis-server: cancel,
 * progress, unique keys, concurrency permits and rate limits, schedules,
 * retrying a dead letter — the parts that depend on how Redis holds a task
 * (stream entries read but not yet run, the delayed set, the consumer
 * group's pending list, keys per task name and key). The generic behaviour
 * is the conformance suite's (conformance.redis.e2e-spec.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { TaskEnvelope } from '../../lib/index.js';
import { RedisTaskClient } from '../../lib/redis.js';
import type { RawEntry } from '../../lib/clients/redis/redis.codec.js';
import type { Band } from '../../lib/clients/redis/redis.keys.js';
import { streamsOf } from '../../lib/clients/redis/redis.replies.js';
import { until } from '../support/app.js';
import { redisSkip } from '../support/services.js';
import { CaptureLogger, complete, REDIS_URL, standalone, take, uniquePrefix, withClients } from './redis.helpers.js';

const GROUP = 'workers';

/** A consumer of the group that reads like a fetch but never records the run (a process between XREADGROUP and its 'run' op). */
async function readRaw(redis: Redis, client: RedisTaskClient, consumer = 'half-way'): Promise<RawEntry[]> {
  for (const stream of client.keys.streams) {
    await redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM').catch(() => undefined);
  }
  const reply = await redis.call(
    'XREADGROUP',
    'GROUP',
    GROUP,
    consumer,
    'COUNT',
    100,
    'STREAMS',
    ...client.keys.streams,
    '>',
    '>',
    '>',
  );
  // RESP2 or RESP3 (ioredis 6), as the client reads it.
  return streamsOf(reply).flatMap(([key, entries]) =>
    entries.map(([eid, fields]): RawEntry => [client.keys.streams.indexOf(key) as Band, eid, 1, fields]),
  );
}

async function pendingCount(redis: Redis, client: RedisTaskClient): Promise<number> {
  let n = 0;
  for (const stream of client.keys.streams) {
    const summary = (await redis.xpending(stream, GROUP).catch(() => [0])) as [number];
    n += Number(summary[0]);
  }
  return n;
}

async function streamLength(redis: Redis, client: RedisTaskClient): Promise<number> {
  let n = 0;
  for (const stream of client.keys.streams) n += await redis.xlen(stream);
  return n;
}

const logs = (client: RedisTaskClient) => (client as unknown as { logger: CaptureLogger }).logger;

describe('RedisTaskClient job control', { skip: redisSkip() }, () => {
  describe('cancel', () => {
    it('takes a queued entry out of the stream, and one a consumer read but has not run out of its pending list', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      const redis = new Redis(REDIS_URL);
      await withClients([client], async () => {
        const [read, unread] = await client.enqueueMany([
          { name: 'echo', payload: 'read' },
          { name: 'echo', payload: 'unread' },
        ]);
        // Both entries delivered to a consumer that has not recorded their run yet.
        assert.equal((await readRaw(redis, client)).length, 2);
        assert.equal(await client.cancel(read!), true);
        const third = await client.enqueue('echo', 'third');
        assert.equal(await client.cancel(unread!), true);
        assert.equal(await pendingCount(redis, client), 0, 'the half-way consumer holds nothing any more');
        assert.equal(await streamLength(redis, client), 1, 'only the third entry is left');
        const counts = await client.counts();
        assert.deepEqual(counts, { queued: 1, delayed: 0, running: 0, completed: 0, failed: 0, cancelled: 2 });
        const [task] = await take(client, 1);
        assert.equal(task!.id, third);
        assert.equal((await client.get(read!))!.state, 'cancelled');
        assert.ok((await redis.pttl(client.keys.record(read!))) > 0, 'a cancelled record expires like a completed one');
      }).finally(() => redis.disconnect());
    });

    it('drops a delivery whose run is recorded after the cancel: the fetch that read it hands nothing out', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      const redis = new Redis(REDIS_URL);
      await withClients([client], async () => {
        const id = await client.enqueue('echo', 1);
        // This client's own consumer reads it the way fetch() does; the run op comes after the cancel.
        const entries = await readRaw(redis, client, client.consumer);
        assert.equal(entries.length, 1);
        assert.equal(await client.cancel(id), true);
        const { deliveries } = client as unknown as { deliveries: { accept(e: RawEntry[]): Promise<TaskEnvelope[]> } };
        assert.deepEqual(await deliveries.accept(entries), [], 'the fetch that read it hands nothing out');
        assert.equal(await pendingCount(redis, client), 0);
        assert.equal((await client.get(id))!.state, 'cancelled');
        assert.deepEqual(await client.fetch(5, AbortSignal.timeout(300)), []);
      }).finally(() => redis.disconnect());
    });

    it('cancels a running task in another client: notice, quiet fencing, lost on extension, and no takeover later', async () => {
      const prefix = uniquePrefix();
      const producer = standalone({ prefix });
      const holder = standalone({ prefix, leaseMs: 600, blockMs: 100 });
      const other = standalone({ prefix, leaseMs: 600, blockMs: 100 });
      await withClients([producer, holder, other], async () => {
        const notices: string[] = [];
        const stop = holder.watchCancels((ids) => notices.push(...ids));
        await new Promise((r) => setTimeout(r, 150));
        const id = await producer.enqueue('echo', { big: true });
        const [task] = await take(holder, 1);
        await holder.markStarted([task!]);
        assert.equal(await producer.cancel(id), true);
        await until(() => notices.includes(id), 5000, 'the cancel notice');
        assert.deepEqual(await holder.extendLeases([task!]), [task], 'the cancelled delivery is lost');
        await complete(holder, [task!], 'too late');
        await holder.publish([{ status: 'cancelled', task: task!, started: true }]);
        assert.equal(holder.stats.staleOutcomes, 0, 'a cancelled delivery is not a stale one');
        assert.equal(holder.lostLeases, 0, 'nor a lost lease');
        assert.deepEqual(logs(holder).warnings, []);
        const record = (await producer.get(id))!;
        assert.equal(record.state, 'cancelled');
        assert.equal(record.result, undefined);
        // Well past the lease: nobody takes the entry over.
        assert.deepEqual(await other.fetch(5, AbortSignal.timeout(1500)), []);
        assert.equal((await producer.counts()).cancelled, 1);
        stop();
      });
    });

    it('a cancelled outcome the store has not heard of cancels the task (the loop decided first)', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      await withClients([client], async () => {
        const id = await client.enqueue('echo', 1, { uniqueKey: 'u' });
        const [task] = await take(client, 1);
        await client.publish([{ status: 'cancelled', task: task!, started: false }]);
        assert.equal((await client.get(id))!.state, 'cancelled');
        assert.equal((await client.counts()).cancelled, 1);
        assert.notEqual(await client.enqueue('echo', 2, { uniqueKey: 'u' }), id, 'the key is free');
      });
    });
  });

  describe('unique keys', () => {
    it('keep: the same id back while queued or running; free again after completed, failed, cancelled', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      const redis = new Redis(REDIS_URL);
      await withClients([client], async () => {
        const first = await client.enqueue('echo', 1, { uniqueKey: 'k' });
        assert.equal(await client.enqueue('echo', 2, { uniqueKey: 'k' }), first);
        assert.notEqual(await client.enqueue('other', 2, { uniqueKey: 'k' }), first, 'scoped per task name');
        assert.equal(await streamLength(redis, client), 2);
        assert.equal((await client.get(first))!.uniqueKey, 'k');
        const tasks = await take(client, 2);
        const mine = tasks.find((t) => t.id === first)!;
        assert.equal(
          await client.enqueue('echo', 3, { uniqueKey: 'k', onDuplicate: 'replace' }),
          first,
          'running: kept',
        );
        assert.equal((await client.get(first))!.payload, 1);
        await complete(client, [mine]);
        const second = await client.enqueue('echo', 4, { uniqueKey: 'k' });
        assert.notEqual(second, first);
        const [t2] = await take(client, 1);
        await client.publish([{ status: 'failed', task: t2!, reason: 'error', error: { name: 'E', message: 'x' } }]);
        const third = await client.enqueue('echo', 5, { uniqueKey: 'k' });
        assert.ok(![first, second].includes(third));
        assert.equal(await client.cancel(third), true);
        const fourth = await client.enqueue('echo', 6, { uniqueKey: 'k' });
        assert.ok(![first, second, third].includes(fourth));
      }).finally(() => redis.disconnect());
    });

    it('replace: a queued task takes the new payload and options in place, once in the stream, in its new band', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      const redis = new Redis(REDIS_URL);
      await withClients([client], async () => {
        const id = await client.enqueue('echo', 'old', { uniqueKey: 'r', concurrencyKey: 'a', maxAttempts: 2 });
        // Read by a consumer that has not run it yet: replacing takes it from there too.
        await readRaw(redis, client);
        const again = await client.enqueue('echo', 'new', {
          uniqueKey: 'r',
          onDuplicate: 'replace',
          priority: 5,
          concurrencyKey: 'b',
        });
        assert.equal(again, id);
        assert.equal(await pendingCount(redis, client), 0);
        assert.equal(await redis.xlen(client.keys.streams[0]), 1, 'now in the high band');
        assert.equal(await streamLength(redis, client), 1);
        const record = (await client.get(id))!;
        assert.deepEqual(
          [record.payload, record.priority, record.maxAttempts, record.concurrencyKey],
          ['new', 5, undefined, 'b'],
        );
        const [task] = await take(client, 1);
        assert.deepEqual([task!.id, task!.payload, task!.concurrencyKey, task!.attempt], [id, 'new', 'b', 1]);
      }).finally(() => redis.disconnect());
    });

    it('replace moves a delayed task to the stream (delay 0) or a queued one to the delayed set', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      await withClients([client], async () => {
        const later = await client.enqueue('echo', 1, { uniqueKey: 'a', delayMs: 60_000 });
        const now = await client.enqueue('echo', 2, { uniqueKey: 'b' });
        assert.equal(await client.enqueue('echo', 3, { uniqueKey: 'a', onDuplicate: 'replace' }), later);
        assert.equal(await client.enqueue('echo', 4, { uniqueKey: 'b', onDuplicate: 'replace', delayMs: 60_000 }), now);
        assert.deepEqual(await client.counts(), {
          queued: 1,
          delayed: 1,
          running: 0,
          completed: 0,
          failed: 0,
          cancelled: 0,
        });
        const [task] = await take(client, 1);
        assert.deepEqual([task!.id, task!.payload], [later, 3]);
        assert.equal((await client.get(now))!.state, 'delayed');
      });
    });

    it('enqueueMany: tasks of one call with one key get the first one’s id', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      await withClients([client], async () => {
        const ids = await client.enqueueMany([
          { name: 'echo', payload: 1, uniqueKey: 'x' },
          { name: 'echo', payload: 2, uniqueKey: 'x' },
          { name: 'echo', payload: 3, uniqueKey: 'y' },
          { name: 'echo', payload: 4, uniqueKey: 'x', onDuplicate: 'replace' },
        ]);
        assert.equal(ids[1], ids[0]);
        assert.equal(ids[3], ids[0]);
        assert.notEqual(ids[2], ids[0]);
        assert.equal((await client.get(ids[0]!))!.payload, 4);
        assert.equal((await client.counts()).queued, 2);
      });
    });

    it('a task dead-lettered by lease expiry frees its key', async () => {
      const prefix = uniquePrefix();
      const victim = standalone({ prefix, leaseMs: 300, blockMs: 100 });
      const rescuer = standalone({ prefix, leaseMs: 300, blockMs: 100, maxAttempts: 1 });
      await withClients([victim, rescuer], async () => {
        const id = await victim.enqueue('echo', 1, { uniqueKey: 'once' });
        const [task] = await take(victim, 1);
        await victim.markStarted([task!]);
        // The victim stops extending: its lease runs out, the rescuer's takeover finds it out of attempts.
        assert.deepEqual(await rescuer.fetch(5, AbortSignal.timeout(2000)), []);
        await until(async () => (await rescuer.get(id))?.state === 'failed', 5000, 'the dead letter');
        assert.notEqual(await rescuer.enqueue('echo', 2, { uniqueKey: 'once' }), id);
      });
    });
  });

  describe('progress and released with a delay', () => {
    it('stores progress fenced by delivery; released with delayMs waits in the delayed set, uncharged', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      await withClients([client], async () => {
        const id = await client.enqueue('echo', 1);
        const [task] = await take(client, 1);
        await client.reportProgress([
          { task: task!, value: { pct: 10 } },
          { task: task!, value: { pct: 20 } },
        ]);
        await client.reportProgress([{ task: task!, value: 10n }]);
        await client.reportProgress([{ task: task!, value: 'x'.repeat(70_000) }]);
        assert.deepEqual((await client.get(id))!.progress, { pct: 20 });
        assert.match(logs(client).warnings.join('\n'), /cannot be stored as JSON/);
        assert.match(logs(client).warnings.join('\n'), /dropped a progress value .* of 70002 characters/);
        await client.publish([{ status: 'released', task: task!, delayMs: 400 }]);
        const record = (await client.get(id))!;
        assert.equal(record.state, 'delayed');
        assert.ok(record.runAt > Date.now() + 100);
        await client.reportProgress([{ task: task!, value: 'stale' }]);
        assert.deepEqual((await client.get(id))!.progress, { pct: 20 });
        const [again] = await take(client, 1, 5000);
        assert.deepEqual([again!.id, again!.attempt], [id, 1]);
      });
    });
  });

  describe('permits', () => {
    it('a concurrency permit outlives leaseMs while its lease is extended, and is given back when that stops', async () => {
      const client = standalone({ prefix: uniquePrefix(), leaseMs: 400, blockMs: 100 });
      await withClients([client], async () => {
        await client.enqueueMany([1, 2].map((n) => ({ name: 'echo', payload: n, concurrencyKey: 't' })));
        const [a, b] = await take(client, 2);
        const ask = (task: TaskEnvelope) => client.acquirePermits([{ task, concurrencyPerKey: 1 }]);
        assert.equal((await ask(a!))[0]!.granted, true);
        for (let i = 0; i < 4; i++) {
          await new Promise((r) => setTimeout(r, 150));
          await client.extendLeases([a!, b!]);
        }
        // 600 ms later, its lease kept: still held.
        const denied = (await ask(b!))[0]!;
        assert.equal(denied.granted, false);
        assert.ok(!denied.granted && denied.retryAfterMs > 0);
        await complete(client, [a!]);
        assert.equal((await ask(b!))[0]!.granted, true);
      });
    });

    it('never grants a delivery this client no longer holds (cancelled)', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      await withClients([client], async () => {
        const id = await client.enqueue('echo', 1, { concurrencyKey: 't' });
        const [task] = await take(client, 1);
        await client.cancel(id);
        const [answer] = await client.acquirePermits([{ task: task!, concurrencyPerKey: 5 }]);
        assert.equal(answer!.granted, false);
      });
    });

    it('rate limit: the window is per task name, on the server clock, and says when the oldest start leaves it', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      await withClients([client], async () => {
        await client.enqueueMany([1, 2, 3].map((n) => ({ name: 'echo', payload: n })));
        const tasks = await take(client, 3);
        const rateLimit = { max: 2, intervalMs: 10_000 };
        const answers = await client.acquirePermits(tasks.map((task) => ({ task, rateLimit })));
        assert.deepEqual(
          answers.map((a) => a.granted),
          [true, true, false],
        );
        const last = answers[2]!;
        assert.ok(!last.granted && last.retryAfterMs > 9000 && last.retryAfterMs <= 10_000, JSON.stringify(last));
      });
    });
  });

  describe('schedules', () => {
    it('fires a tick once among many offers, only later ticks after it, and records a new schedule’s first tick when told', async () => {
      const prefix = uniquePrefix();
      const clients = [0, 1, 2, 3].map(() => standalone({ prefix }));
      await withClients(clients, async () => {
        const offer = (c: RedisTaskClient, tick: number, whenNew: 'fire' | 'record' = 'fire', key = 'daily') =>
          c.fireSchedule({ key, tick, whenNew, task: { name: 'report', payload: { tick } } });
        const fired = await Promise.all(clients.map((c) => offer(c, 1000)));
        assert.equal(fired.filter(Boolean).length, 1);
        assert.equal(await offer(clients[0]!, 1000), undefined);
        assert.equal(await offer(clients[1]!, 999), undefined, 'an older tick never fires');
        const next = await offer(clients[2]!, 2000);
        assert.equal(typeof next, 'string');
        assert.deepEqual((await clients[0]!.get(next!))!.payload, { tick: 2000 });
        assert.equal(
          await offer(clients[3]!, 5000, 'record', 'new'),
          undefined,
          'a new schedule records its first tick',
        );
        assert.equal(typeof (await offer(clients[3]!, 6000, 'record', 'new')), 'string', 'and fires the next');
        assert.equal((await clients[0]!.counts()).queued, 3);
      });
    });
  });

  describe('retryDeadLetter', () => {
    it('puts a dead letter back as attempt 1, removes its dead-letter entry, and takes its unique key back', async () => {
      const client = standalone({ prefix: uniquePrefix() });
      await withClients([client], async () => {
        const id = await client.enqueue('echo', 1, { uniqueKey: 'dl', maxAttempts: 2 });
        const [task] = await take(client, 1);
        await client.publish([{ status: 'failed', task: task!, reason: 'error', error: { name: 'E', message: 'no' } }]);
        assert.equal((await client.deadLetters()).length, 1);
        assert.equal(await client.retryDeadLetter(id), true);
        assert.equal(await client.retryDeadLetter(id), false, 'no longer a dead letter');
        assert.equal(await client.retryDeadLetter('no-such-task'), false);
        assert.deepEqual(await client.deadLetters(), []);
        assert.deepEqual(await client.counts(), {
          queued: 1,
          delayed: 0,
          running: 0,
          completed: 0,
          failed: 0,
          cancelled: 0,
        });
        const record = (await client.get(id))!;
        assert.deepEqual(
          [record.state, record.attempt, record.errors.length, record.failureReason],
          ['queued', 1, 1, undefined],
        );
        assert.equal(await client.enqueue('echo', 2, { uniqueKey: 'dl' }), id, 'it holds its key again');
        const [again] = await take(client, 1);
        assert.deepEqual([again!.id, again!.attempt, again!.maxAttempts], [id, 1, 2]);
      });
    });
  });
});
