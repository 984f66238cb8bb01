/**
 * RedisTaskClient against a real redis-server (REDIS_URL from the test
 * runner; the restart test starts its own with persistence). Every test uses
 * a prefix of its own and never deletes keys it did not write.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { InvalidRedisTaskClientOptionsError, RedisTaskClient, type RedisTaskClientOptions } from '../../lib/redis.js';
import { sleep, until, type BootedApp } from '../support/app.js';
import { redisServerSkip, redisSkip, startRedis } from '../support/services.js';
import {
  bootRedisApp,
  CaptureLogger,
  complete,
  finished,
  REDIS_URL,
  settled,
  standalone,
  take,
  uniquePrefix,
  withClients,
} from './redis.helpers.js';

describe('RedisTaskClient through a Nest app', { skip: redisSkip() }, () => {
  it('runs enqueued tasks (client from useFactory + inject) and closes only its own connections', async () => {
    const prefix = uniquePrefix();
    const booted = await bootRedisApp({ url: REDIS_URL, prefix });
    const producer = standalone({ prefix });
    try {
      const ids = await producer.enqueueMany(
        Array.from({ length: 200 }, (_, i) => ({ name: 'add', payload: { a: i, b: 1 } })),
      );
      await settled(producer, 200);
      const records = await Promise.all(ids.map((id) => producer.get<number>(id)));
      assert.deepEqual(
        records.map((r) => r?.result),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      assert.ok(records.every((r) => r?.state === 'completed' && r.attempt === 1 && r.errors.length === 0));
      assert.deepEqual(await producer.counts(), {
        queued: 0,
        delayed: 0,
        running: 0,
        completed: 200,
        failed: 0,
        cancelled: 0,
      });
    } finally {
      await booted.close();
      await producer.close();
    }
    assert.equal(
      booted.client.redis.status,
      'end',
      'the client made its command connection, so it closes it at shutdown',
    );
  });

  it('retries through the delayed set with backoff, and dead-letters with every attempt’s error', async () => {
    const prefix = uniquePrefix();
    const backoff = { initialMs: 200, factor: 2, maxMs: 10_000, jitter: 'none' as const };
    const booted = await bootRedisApp({ url: REDIS_URL, prefix }, { retry: { maxAttempts: 3, backoff } });
    const client = booted.client;
    try {
      const declined = await client.enqueue('decline', { code: 'insufficient_funds' });
      const fatal = await client.enqueue('fatal');
      const unknown = await client.enqueue('no-such-task', { x: 1 });
      let sawDelayed = false;
      await until(
        async () => {
          const c = await client.counts();
          sawDelayed ||= c.delayed > 0;
          return c.failed === 3;
        },
        20_000,
        'three dead letters',
      );
      assert.ok(sawDelayed, 'the retries waited in the delayed set');

      const record = (await client.get(declined))!;
      assert.equal(record.state, 'failed');
      assert.equal(record.attempt, 3);
      assert.equal(record.failureReason, 'error');
      assert.deepEqual(
        record.errors.map((e) => e.name),
        ['PaymentDeclinedError', 'PaymentDeclinedError', 'PaymentDeclinedError'],
      );
      // Backoffs of 200 and 400 ms (no jitter) lie between the three attempts: a lower bound only.
      assert.ok(record.finishedAt! - record.enqueuedAt >= 600, `took ${record.finishedAt! - record.enqueuedAt} ms`);

      const dead = new Map((await client.deadLetters()).map((d) => [d.id, d]));
      assert.equal(dead.get(declined)?.reason, 'error');
      assert.equal(dead.get(declined)?.errors.length, 3);
      assert.equal(dead.get(declined)?.error.message, 'card declined: insufficient_funds');
      assert.deepEqual(dead.get(declined)?.payload, { code: 'insufficient_funds' });
      assert.equal(dead.get(fatal)?.errors.length, 1, 'NonRetryableError: one attempt only');
      assert.equal(dead.get(unknown)?.reason, 'unknown-task');
      assert.equal(dead.get(unknown)?.error.name, 'UnknownTaskError');
      assert.deepEqual(dead.get(unknown)?.payload, { x: 1 });
    } finally {
      await booted.close();
    }
  });

  it('runs delayed tasks no earlier than asked', async () => {
    const prefix = uniquePrefix();
    const booted = await bootRedisApp({ url: REDIS_URL, prefix });
    const client = booted.client;
    try {
      const id = await client.enqueue('add', { a: 2, b: 3 }, { delayMs: 600 });
      assert.equal((await client.get(id))?.state, 'delayed');
      assert.equal((await client.counts()).delayed, 1);
      const record = await finished(client, id);
      assert.equal(record.state, 'completed');
      assert.equal(record.result, 5);
      assert.ok(
        record.finishedAt! - record.enqueuedAt >= 600,
        `ran ${record.finishedAt! - record.enqueuedAt} ms after enqueue`,
      );
    } finally {
      await booted.close();
    }
  });

  it('dead-letters malformed entries from other producers without stopping the loop', async () => {
    const prefix = uniquePrefix();
    const booted = await bootRedisApp({ url: REDIS_URL, prefix, logger: new CaptureLogger() });
    const client = booted.client;
    const raw = client.redis;
    const stream = `${prefix}:default:stream`;
    try {
      const badJson = await raw.xadd(stream, '*', 'id', 'bad-json', 'name', 'add', 'payload', '{"a": 1,');
      const noName = await raw.xadd(stream, '*', 'payload', '{}');
      const noPayload = await raw.xadd(stream, '*', 'id', 'no-payload', 'name', 'add');
      const badAttempt = await raw.xadd(
        stream,
        '*',
        'id',
        'bad-attempt',
        'name',
        'add',
        'payload',
        '{}',
        'attempt',
        'soon',
      );
      // A well-formed entry by hand: no id (the entry id is used), no attempt (1).
      const good = await raw.xadd(stream, '*', 'name', 'add', 'payload', '{"a":40,"b":2}');
      const record = await finished(client, good!);
      assert.equal(record.result, 42);
      await until(async () => (await client.counts()).failed === 4, 10_000, 'four dead letters');
      const dead = new Map((await client.deadLetters()).map((d) => [d.id, d]));
      for (const [id, entryId, pattern] of [
        ['bad-json', badJson, /"payload" is not valid JSON/],
        [noName, noName, /no "name" field/],
        ['no-payload', noPayload, /no "payload" field/],
        ['bad-attempt', badAttempt, /"attempt" \(soon\) is not a positive integer/],
      ] as const) {
        const letter = dead.get(id!);
        assert.ok(letter, `dead letter for ${id}`);
        assert.equal(letter.reason, 'invalid-payload');
        assert.equal(letter.error.name, 'InvalidStreamEntryError');
        assert.match(letter.error.message, pattern);
        assert.ok(letter.error.message.includes(entryId!), 'the message names the entry');
        assert.equal((await client.get(id!))?.failureReason, 'invalid-payload');
      }
      assert.equal(dead.get('bad-json')?.fields.payload, '{"a": 1,', 'the raw fields are kept');
      assert.match(dead.get('bad-json')!.error.message, /name "add"/);
      assert.equal((await client.counts()).completed, 1);
    } finally {
      await booted.close();
    }
  });

  it('releases queued tasks at app.close(): nothing lost, no attempt counted, the next app runs them', async () => {
    const prefix = uniquePrefix();
    const first = await bootRedisApp({ url: REDIS_URL, prefix });
    const producer = standalone({ prefix });
    try {
      const ids = await producer.enqueueMany(
        Array.from({ length: 120 }, () => ({ name: 'sleep', payload: { ms: 40 } })),
      );
      await until(async () => (await producer.counts()).completed >= 6, 10_000, 'some tasks done');
      await first.close();
      const after = await producer.counts();
      assert.equal(after.running, 0, 'nothing is left held by the closed app');
      assert.equal(after.completed + after.queued, 120, JSON.stringify(after));
      assert.ok(after.queued > 0, 'tasks were still waiting at close');
      const waiting = (await Promise.all(ids.map((id) => producer.get(id)))).filter((r) => r?.state !== 'completed');
      assert.ok(waiting.every((r) => r?.state === 'queued' && r.attempt === 1 && r.errors.length === 0));

      const second = await bootRedisApp({ url: REDIS_URL, prefix });
      try {
        await settled(producer, 120);
        const records = await Promise.all(ids.map((id) => producer.get(id)));
        assert.ok(records.every((r) => r?.state === 'completed' && r.attempt === 1));
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
      await producer.close();
    }
  });

  it('extends the lease of a task that runs longer than leaseMs, so nobody takes it over', async () => {
    const prefix = uniquePrefix();
    const booted = await bootRedisApp({ url: REDIS_URL, prefix, leaseMs: 600, blockMs: 100 });
    const rival = standalone({ prefix, leaseMs: 600, blockMs: 100 });
    try {
      const id = await booted.client.enqueue('sleep', { ms: 2500 });
      await until(async () => (await booted.client.get(id))?.state === 'running', 5_000, 'the task to start');
      assert.deepEqual(await take(rival, 1, 2000), [], 'the lease was extended while the task ran');
      const record = await finished(booted.client, id);
      assert.equal(record.state, 'completed');
      assert.equal(record.attempt, 1);
      assert.deepEqual(record.errors, []);
    } finally {
      await booted.close();
      await rival.close();
    }
  });

  it('keeps results for keepCompletedMs only', async () => {
    const prefix = uniquePrefix();
    const booted = await bootRedisApp({ url: REDIS_URL, prefix, keepCompletedMs: 300 });
    try {
      const id = await booted.client.enqueue('add', { a: 1, b: 1 });
      assert.equal((await finished(booted.client, id)).result, 2);
      await until(async () => (await booted.client.get(id)) === undefined, 5_000, 'the record to expire');
    } finally {
      await booted.close();
    }
  });
});

describe('RedisTaskClient consumers', { skip: redisSkip() }, () => {
  it('never gives one entry to two consumers', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [standalone({ prefix }), standalone({ prefix })];
    await withClients([a, b], async () => {
      const ids = await a.enqueueMany(Array.from({ length: 3000 }, (_, i) => ({ name: 'echo', payload: i })));
      const seen = [new Set<string>(), new Set<string>()];
      let total = 0;
      const drain = async (client: RedisTaskClient, mine: Set<string>) => {
        const signal = AbortSignal.timeout(20_000);
        while (total < ids.length && !signal.aborted) {
          // A slice of its own timer, not AbortSignal.timeout() inside AbortSignal.any(): on Node 20/22 a
          // garbage collection can take that timeout signal and the slice never ends (nodejs/node#57736).
          const slice = new AbortController();
          const timer = setTimeout(() => slice.abort(), 300);
          const tasks = await client
            .fetch(64, AbortSignal.any([signal, slice.signal]))
            .finally(() => clearTimeout(timer));
          for (const task of tasks) mine.add(task.id);
          total += tasks.length;
          await complete(client, tasks);
        }
      };
      await Promise.all([drain(a, seen[0]!), drain(b, seen[1]!)]);
      const overlap = [...seen[0]!].filter((id) => seen[1]!.has(id));
      assert.deepEqual(overlap, []);
      assert.equal(seen[0]!.size + seen[1]!.size, ids.length);
      assert.ok(seen[0]!.size > 0 && seen[1]!.size > 0, 'both consumers got work');
      assert.equal((await a.counts()).completed, 3000);
    });
  });

  it('reads the high band first and the low band last', async () => {
    const prefix = uniquePrefix();
    const client = standalone({ prefix });
    await withClients([client], async () => {
      await client.enqueue('echo', 'low', { priority: -1 });
      await client.enqueue('echo', 'normal');
      await client.enqueue('echo', 'high', { priority: 10 });
      const tasks = await take(client, 3);
      assert.deepEqual(
        tasks.map((t) => t.payload),
        ['high', 'normal', 'low'],
      );
      assert.equal((await client.get(tasks[0]!.id))?.priority, 10);
      await complete(client, tasks);
    });
  });

  it('hands a dead consumer’s entries to another after the lease, and fences the late outcomes', async () => {
    const prefix = uniquePrefix();
    const deadLog = new CaptureLogger();
    const [dead, alive] = [
      standalone({ prefix, leaseMs: 400, blockMs: 100, logger: deadLog }),
      standalone({ prefix, leaseMs: 400, blockMs: 100 }),
    ];
    await withClients([dead, alive], async () => {
      const ids = await dead.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ name: 'echo', payload: i })));
      const lost = await take(dead, 5);
      assert.deepEqual(
        lost.map((t) => t.attempt),
        [1, 1, 1, 1, 1],
      );
      await dead.markStarted(lost);
      // `dead` is cut off from Redis, so its leases run out; `alive` takes the entries over.
      dead.redis.disconnect();
      const taken = await take(alive, 5);
      assert.deepEqual(new Set(taken.map((t) => t.id)), new Set(ids));
      assert.ok(
        taken.every((t) => t.attempt === 2),
        'the lost delivery counts as an attempt',
      );
      const record = (await alive.get(ids[0]!))!;
      assert.equal(record.state, 'running');
      assert.equal(record.errors[0]?.name, 'LeaseExpiredError');

      // The old owner comes back: extending and publishing must both be refused.
      await dead.redis.connect();
      assert.deepEqual(await dead.extendLeases(lost), lost, 'every lease is reported lost');
      await complete(dead, lost, 'stale');
      assert.equal(dead.staleOutcomes, 5);
      assert.equal(dead.lostLeases, 5);
      assert.ok(
        deadLog.warnings.some((w) => /Lost the lease of 5 held task/.test(w)),
        deadLog.warnings.join('\n'),
      );
      assert.equal((await alive.get(ids[0]!))?.state, 'running');

      await complete(alive, taken, 'fresh');
      assert.equal(alive.staleOutcomes, 0);
      const records = await Promise.all(ids.map((id) => alive.get(id)));
      assert.ok(records.every((r) => r?.state === 'completed' && r.result === 'fresh' && r.attempt === 2));
    });
  });

  it('dead-letters a task whose process dies on every attempt', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, leaseMs: 300, blockMs: 100, maxAttempts: 2 };
    const clients = [standalone(options), standalone(options), standalone(options)];
    await withClients(clients, async () => {
      const id = await clients[0]!.enqueue('exit');
      // Each consumer starts the task and "dies": cut off from Redis, it extends nothing any more.
      for (const [n, client] of clients.slice(0, 2).entries()) {
        const taken = await take(client, 1);
        assert.equal(taken[0]?.attempt, n + 1);
        await client.markStarted(taken);
        client.redis.disconnect();
      }
      // Attempt 3 would exceed maxAttempts: the third consumer dead-letters instead of running it.
      assert.deepEqual(await take(clients[2]!, 1, 1500), []);
      const record = (await clients[2]!.get(id))!;
      assert.equal(record.state, 'failed');
      assert.equal(record.failureReason, 'crash');
      assert.equal(record.attempt, 2);
      const [letter] = await clients[2]!.deadLetters();
      assert.equal(letter?.id, id);
      assert.equal(letter?.reason, 'crash');
      assert.deepEqual(
        letter?.errors.map((e) => e.name),
        ['LeaseExpiredError', 'LeaseExpiredError'],
      );
      assert.deepEqual(await clients[2]!.counts(), {
        queued: 0,
        delayed: 0,
        running: 0,
        completed: 0,
        failed: 1,
        cancelled: 0,
      });
    });
  });

  it('keeps leases only through extendLeases(), as the worker loop calls it: no timer of its own', async () => {
    const prefix = uniquePrefix();
    const [holder, rival] = [
      standalone({ prefix, leaseMs: 500, blockMs: 100 }),
      standalone({ prefix, leaseMs: 500, blockMs: 100 }),
    ];
    await withClients([holder, rival], async () => {
      await holder.enqueueMany([1, 2, 3, 4].map((n) => ({ name: 'echo', payload: n })));
      const tasks = await take(holder, 4);
      // The loop extends every task it holds, finished ones waiting to be published included, every leaseMs / 3.
      const kept = tasks.slice(0, 2);
      const keeping = setInterval(() => holder.extendLeases(kept).catch(() => undefined), 150);
      try {
        const taken = await take(rival, 2, 3000);
        assert.deepEqual(
          taken.map((t) => t.payload).sort(),
          [3, 4],
          'the entries nobody extended were taken over after their lease',
        );
        await complete(rival, taken);
        assert.deepEqual(await take(rival, 1, 1200), [], 'the extended ones were not');
        await complete(holder, kept);
      } finally {
        clearInterval(keeping);
      }
      assert.equal(holder.staleOutcomes, 0);
      assert.equal((await holder.counts()).completed, 4);
    });
  });

  it('returns soon after the abort signal, releasing what a late reply delivers', async () => {
    const prefix = uniquePrefix();
    const client = standalone({ prefix, blockMs: 900 });
    await withClients([client], async () => {
      const controller = new AbortController();
      const pending = client.fetch(10, controller.signal);
      await sleep(100);
      const started = Date.now();
      controller.abort();
      assert.deepEqual(await pending, []);
      const took = Date.now() - started;
      assert.ok(took < 800, `fetch took ${took} ms to return after the abort`);
      await client.enqueue('echo', 1);
      assert.equal((await take(client, 1))[0]?.payload, 1, 'nothing was left stuck with the aborted read');
    });
  });

  it('gives up on a read the server does not answer, and releases what it delivers later', async () => {
    const prefix = uniquePrefix();
    const client = standalone({ prefix });
    const admin = new Redis(REDIS_URL);
    await withClients([client], async () => {
      const ids = await client.enqueueMany([1, 2, 3].map((n) => ({ name: 'echo', payload: n })));
      // The server holds every command for 1.5 s: the fetch's script waits in line.
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      const controller = new AbortController();
      const pending = client.fetch(10, controller.signal);
      await sleep(100);
      const started = Date.now();
      controller.abort();
      assert.deepEqual(await pending, []);
      assert.ok(Date.now() - started < 1200, 'fetch returned before the server answered');
      // Once the server answers, the three delivered entries are handed back unstarted.
      await until(
        async () => {
          const c = await client.counts();
          return c.queued === 3 && c.running === 0;
        },
        10_000,
        'the late delivery to be released',
      );
      const records = await Promise.all(ids.map((id) => client.get(id)));
      assert.ok(
        records.every((r) => r?.state === 'queued' && r.attempt === 1 && r.errors.length === 0),
        JSON.stringify(records),
      );
    }).finally(() => admin.disconnect());
  });

  it('gives back, at reconnect, entries delivered by a reply lost with the connection', async () => {
    const prefix = uniquePrefix();
    const client = standalone({ prefix });
    const admin = new Redis(REDIS_URL);
    await withClients([client], async () => {
      const ids = await client.enqueueMany([1, 2, 3].map((n) => ({ name: 'echo', payload: n })));
      const stream = client.keys.streams[1];
      await admin.xgroup('CREATE', stream, 'workers', '0');
      // Deliver to this client's consumer name behind its back: what a read whose reply was lost leaves behind.
      await admin.xreadgroup('GROUP', 'workers', client.consumer, 'COUNT', 3, 'STREAMS', stream, '>');
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      const started = Date.now();
      const tasks = await take(client, 3);
      assert.deepEqual(new Set(tasks.map((t) => t.id)), new Set(ids));
      assert.ok(
        tasks.every((t) => t.attempt === 1),
        'not counted as an attempt',
      );
      assert.ok(Date.now() - started < client.leaseMs, 'recovered without waiting for the lease');
      await complete(client, tasks);
      assert.equal((await client.counts()).completed, 3);
    }).finally(() => admin.disconnect());
  });

  it('is idempotent on ids, and enqueueMany is fast', async (t: TestContext) => {
    const prefix = uniquePrefix();
    const client = standalone({ prefix });
    await withClients([client], async () => {
      assert.equal(await client.enqueue('echo', 1, { id: 'same' }), 'same');
      assert.equal(await client.enqueue('echo', 2, { id: 'same' }), 'same');
      assert.equal((await client.counts()).queued, 1);
      assert.equal((await client.get('same'))?.payload, 1);

      const started = Date.now();
      const ids = await client.enqueueMany(
        Array.from({ length: 100_000 }, (_, i) => ({ name: 'echo', payload: { i } })),
      );
      const ms = Date.now() - started;
      t.diagnostic(`enqueueMany: 100000 tasks in ${ms} ms`);
      assert.equal(new Set(ids).size, 100_000);
      assert.equal((await client.counts()).queued, 100_001);
    });
  });

  it('picks a new task up as soon as it is enqueued (blocking read)', async (t: TestContext) => {
    const prefix = uniquePrefix();
    const [consumer, producer] = [standalone({ prefix }), standalone({ prefix })];
    await withClients([consumer, producer], async () => {
      const samples: number[] = [];
      for (let i = 0; i < 20; i++) {
        const fetching = consumer.fetch(1, AbortSignal.timeout(10_000));
        await sleep(30); // the consumer is now waiting in its BLOCK
        const enqueued = performance.now();
        await producer.enqueue('echo', i);
        const [task] = await fetching;
        samples.push(performance.now() - enqueued);
        await complete(consumer, [task!]);
      }
      samples.sort((a, b) => a - b);
      t.diagnostic(
        `pickup latency (enqueue resolved -> fetch resolved), 20 samples: median ${samples[10]!.toFixed(2)} ms, max ${samples[19]!.toFixed(2)} ms`,
      );
      assert.ok(samples[10]! < 500, 'an idle consumer does not poll: it is woken by the entry');
    });
  });
});

describe('RedisTaskClient and a failing server', { skip: redisSkip() }, () => {
  it('goes on after the server restarts mid-run (append-only file), losing nothing', async (t: TestContext) => {
    const skip = redisServerSkip();
    if (skip) return t.skip(skip);
    const server = await startRedis({ persistent: true });
    const prefix = uniquePrefix();
    let booted: (BootedApp & { client: RedisTaskClient }) | undefined;
    try {
      booted = await bootRedisApp({ url: server.url, prefix, logger: new CaptureLogger(), leaseMs: 5000 });
      const client = booted.client;
      const ids = await client.enqueueMany(
        Array.from({ length: 300 }, (_, i) => ({ name: 'sleep', payload: { ms: 15 + (i % 5) } })),
      );
      await until(async () => (await client.counts()).completed >= 40, 20_000, 'some tasks done');
      await server.stop();
      const downAt = Date.now();
      await sleep(1500);
      await server.start();
      t.diagnostic(`redis-server down for ${Date.now() - downAt} ms`);
      await settled(client, 300, 60_000);
      const records = await Promise.all(ids.map((id) => client.get(id)));
      assert.ok(
        records.every((r) => r?.state === 'completed'),
        'every task completed',
      );
      assert.equal((await client.counts()).failed, 0);
      // Deliveries whose replies were lost in the restart were given back at
      // reconnect, not left to lease expiry: no attempt was counted for them.
      assert.deepEqual(
        records.filter((r) => r!.attempt !== 1).map((r) => r!.errors),
        [],
      );
    } finally {
      await booted?.close();
      await server.dispose();
    }
  });

  it('goes on after its connections are killed mid-run', async () => {
    const prefix = uniquePrefix();
    const booted = await bootRedisApp({ url: REDIS_URL, prefix, logger: new CaptureLogger(), leaseMs: 5000 });
    const admin = new Redis(REDIS_URL);
    try {
      const client = booted.client;
      const ids = await client.enqueueMany(Array.from({ length: 300 }, () => ({ name: 'sleep', payload: { ms: 10 } })));
      for (let i = 0; i < 3; i++) {
        await sleep(250);
        await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      }
      await settled(client, 300, 60_000);
      const records = await Promise.all(ids.map((id) => client.get(id)));
      assert.ok(records.every((r) => r?.state === 'completed'));
      assert.equal((await client.counts()).failed, 0);
      assert.deepEqual(
        records.filter((r) => r!.attempt !== 1).map((r) => r!.errors),
        [],
        'lost replies were recovered at reconnect',
      );
    } finally {
      await booted.close();
      admin.disconnect();
    }
  });
});

describe('RedisTaskClient options and packaging', { skip: redisSkip() }, () => {
  it('validates options with errors that name the fix', () => {
    const cases: Array<[RedisTaskClientOptions, RegExp]> = [
      [{ leaseMs: 10 }, /"leaseMs" must be an integer from 100 to 86400000, got 10\. Use a number of milliseconds/],
      [
        { maxAttempts: 0 },
        /"maxAttempts" must be an integer from 1 to 1000000, got 0\. Use a whole number of attempts/,
      ],
      [
        { queue: 'my queue' },
        /"queue" must be a non-empty string matching .*, got "my queue"\. Set it to a short name without spaces/,
      ],
      [{ url: 'http://localhost' }, /"url" must be a redis:\/\/ or rediss:\/\/ URL/],
      [{ prefix: '' }, /"prefix" must be a non-empty string/],
      [{ blockMs: 5000, leaseMs: 2000 }, /"blockMs" \(5000\) must be below leaseMs/],
      [{ redisOptions: { keyPrefix: 'x:' } }, /keyPrefix.*set the "prefix" option/],
    ];
    for (const [options, pattern] of cases) {
      assert.throws(
        () => new RedisTaskClient(options),
        (error: Error & { code?: string }) => {
          assert.ok(error instanceof InvalidRedisTaskClientOptionsError);
          assert.equal(error.code, 'ERR_WORKER_REDIS_INVALID_OPTIONS');
          assert.match(error.message, pattern);
          return true;
        },
      );
    }
  });

  it('uses a given ioredis instance without closing it', async () => {
    const connection = new Redis(REDIS_URL);
    const client = new RedisTaskClient({ connection, prefix: uniquePrefix(), logger: new CaptureLogger() });
    try {
      const id = await client.enqueue('echo', 'x');
      const [task] = await take(client, 1);
      assert.equal(task?.id, id);
      await complete(client, [task!]);
      await client.close();
      assert.equal(connection.status, 'ready');
      assert.equal(await connection.ping(), 'PONG');
    } finally {
      connection.disconnect();
    }
  });

  it('loads the package without ioredis, and says how to install it when the client is used', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-no-ioredis-'));
    try {
      // Blocks ioredis under any name it is installed as (the ioredis 6 pass aliases it to ioredis6).
      const blocker = join(dir, 'block-ioredis.cjs');
      writeFileSync(
        blocker,
        `const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (['ioredis', 'ioredis6'].some((name) => request === name || request.startsWith(name + '/'))) throw Object.assign(new Error("Cannot find module 'ioredis'"), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};`,
      );
      const index = new URL('../../lib/index.js', import.meta.url).href;
      const entry = new URL('../../lib/redis.js', import.meta.url).href;
      const script = `await import('reflect-metadata');
await import(${JSON.stringify(index)});
const lib = await import(${JSON.stringify(entry)});
try { new lib.RedisTaskClient(); console.log('constructed'); } catch (e) { console.log(e.code + ' ' + e.message); }`;
      const result = spawnSync(process.execPath, ['--require', blocker, '--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /^ERR_WORKER_REDIS_DEPENDENCY .*npm install ioredis/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
