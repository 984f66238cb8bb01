/**
 * RedisTaskClient against what other producers, lost replies and a server
 * that lost its data leave behind, on a real redis-server: nothing wedges,
 * nothing is misreported, nothing from outside reaches a log line raw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisTaskClient } from '../../lib/redis.js';
import { redisServerSkip, redisSkip, startRedis } from '../support/services.js';
import { FaultProxy } from './postgres.fault-proxy.js';
import { CaptureLogger, complete, REDIS_URL, standalone, take, uniquePrefix, withClients } from './redis.helpers.js';

/** Flat field list of an entry with `count` fields of its own besides `base`. */
const manyFields = (base: Record<string, string>, count: number) => [
  ...Object.entries(base).flat(),
  ...Array.from({ length: count }, (_, i) => [`f${i}`, `v${i}`]).flat(),
];

describe('RedisTaskClient and entries of thousands of fields', { skip: redisSkip() }, () => {
  it('dead-letters an entry of 5,000 fields as invalid and goes on delivering', async () => {
    const log = new CaptureLogger();
    const client = standalone({ prefix: uniquePrefix(), logger: log });
    await withClients([client], async () => {
      const stream = client.keys.streams[1];
      // An unknown task: run, it would fail, and the dead-letter step would copy every field.
      const huge = (await client.redis.xadd(
        stream,
        '*',
        ...manyFields({ id: 'huge', name: 'no-such-task', payload: '{}' }, 5000),
      ))!;
      const good = await client.enqueue('echo', 'after');
      const tasks = await take(client, 1);
      assert.deepEqual(
        tasks.map((t) => t.id),
        [good],
      );
      const [letter] = await client.deadLetters();
      assert.equal(letter?.id, 'huge');
      assert.equal(letter?.reason, 'invalid-payload');
      assert.equal(letter?.error.name, 'InvalidStreamEntryError');
      assert.match(letter!.error.message, /it has 5003 fields, more than the 1000 a task entry may have/);
      assert.equal(letter?.fields.entry, huge);
      assert.equal(letter?.fields.f0, 'v0', 'the first fields are kept');
      assert.equal(letter?.fields.droppedFields, String(5002 - 1000), 'the rest are counted (the id is written anew)');
      assert.equal((await client.get('huge'))?.failureReason, 'invalid-payload');
      assert.ok(log.warnings.some((w) => w.includes('5003 fields')));
      await complete(client, tasks);
      assert.deepEqual(await client.counts(), {
        queued: 0,
        delayed: 0,
        running: 0,
        completed: 1,
        failed: 1,
        cancelled: 0,
      });
    });
  });

  it('dead-letters such an entry taken over from a consumer that died holding it', async () => {
    const client = standalone({ prefix: uniquePrefix(), leaseMs: 10_000, logger: new CaptureLogger() });
    const admin = new Redis(REDIS_URL);
    await withClients([client], async () => {
      const stream = client.keys.streams[1];
      await admin.xgroup('CREATE', stream, 'workers', '0', 'MKSTREAM');
      await admin.xadd(stream, '*', ...manyFields({ id: 'held', name: 'echo', payload: '1' }, 4500));
      // Delivered to a consumer that died before it did anything with it, a lease ago.
      await admin.xreadgroup('GROUP', 'workers', 'gone-consumer', 'COUNT', 1, 'STREAMS', stream, '>');
      const [[entryId]] = (await admin.xpending(stream, 'workers', '-', '+', 1)) as [[string]];
      await admin.xclaim(stream, 'workers', 'gone-consumer', 0, entryId, 'IDLE', 11_000, 'JUSTID');
      await client.enqueue('echo', 2);
      const tasks = await take(client, 1);
      assert.deepEqual(
        tasks.map((t) => t.payload),
        [2],
      );
      assert.equal((await client.deadLetters())[0]?.id, 'held');
      await complete(client, tasks);
      assert.deepEqual(await client.counts(), {
        queued: 0,
        delayed: 0,
        running: 0,
        completed: 1,
        failed: 1,
        cancelled: 0,
      });
    }).finally(() => admin.disconnect());
  });

  it('never wedges publishing: an entry whose data breaks a command is dead-lettered, the outcomes with it are recorded', async () => {
    const log = new CaptureLogger();
    const client = standalone({ prefix: uniquePrefix(), logger: log });
    await withClients([client], async () => {
      const [broken, fine] = await client.enqueueMany([1, 2].map((n) => ({ name: 'echo', payload: n })));
      const tasks = await take(client, 2);
      // Someone overwrites the task's record with a string: every write to it fails (WRONGTYPE).
      await client.redis.del(client.keys.record(broken!));
      await client.redis.set(client.keys.record(broken!), 'not a hash');
      await complete(client, tasks);
      assert.equal((await client.get(fine!))?.state, 'completed');
      const [letter] = await client.deadLetters();
      assert.equal(letter?.id, broken);
      assert.equal(letter?.reason, 'invalid-payload');
      assert.match(letter!.error.message, /Redis refused an operation on it \(WRONGTYPE/);
      assert.ok(log.warnings.some((w) => /cannot be handled: Redis refused an operation on it \(WRONGTYPE/.test(w)));
      assert.deepEqual(await client.counts(), {
        queued: 0,
        delayed: 0,
        running: 0,
        completed: 1,
        failed: 1,
        cancelled: 0,
      });
    });
  });
});

describe('RedisTaskClient and another producer reusing a task id', { skip: redisSkip() }, () => {
  it('retries and releases what the foreign entry delivered, not the older task’s payload', async () => {
    const client = standalone({ prefix: uniquePrefix() });
    await withClients([client], async () => {
      await client.enqueue('echo', { v: 1 }, { id: 'shared' });
      await complete(client, await take(client, 1));
      await client.redis.xadd(client.keys.streams[1], '*', 'id', 'shared', 'name', 'echo', 'payload', '{"v":2}');
      const [first] = await take(client, 1);
      assert.deepEqual(first?.payload, { v: 2 });
      await client.publish([
        {
          status: 'retry',
          task: first!,
          reason: 'error',
          error: { name: 'Error', message: 'again' },
          nextAttempt: 2,
          delayMs: 0,
          runAt: Date.now(),
        },
      ]);
      const [retried] = await take(client, 1);
      assert.deepEqual([retried?.payload, retried?.attempt], [{ v: 2 }, 2]);
      await client.publish([{ status: 'released', task: retried! }]);
      const [released] = await take(client, 1);
      assert.deepEqual([released?.payload, released?.attempt], [{ v: 2 }, 2]);
      await complete(client, [released!], 'done');
      const record = (await client.get('shared'))!;
      assert.deepEqual([record.payload, record.result, record.errors.length], [{ v: 2 }, 'done', 1]);
    });
  });
});

describe('RedisTaskClient logs and errors', { skip: redisSkip() }, () => {
  it('tells an outcome recorded by a try whose reply was lost from a stale one', async () => {
    const proxy = await FaultProxy.start(Number(new URL(REDIS_URL).port));
    const log = new CaptureLogger();
    const client = standalone({ url: `redis://127.0.0.1:${proxy.port}`, prefix: uniquePrefix(), logger: log });
    try {
      const id = await client.enqueue('echo', 1);
      const tasks = await take(client, 1);
      // The publish script runs on the server, and the connection breaks before its reply
      // arrives: ioredis reconnects and sends the script again, which finds it recorded.
      proxy.loseReplyTo(id);
      await complete(client, tasks, 'once');
      assert.equal(proxy.lost, 1);
      assert.equal(client.staleOutcomes, 0);
      assert.ok(!log.warnings.some((w) => /stale outcome|took them over/.test(w)), log.warnings.join('\n'));
      assert.ok(
        log.infos.some((m) => /1 outcome\(s\) had been recorded already/.test(m)),
        log.infos.join('\n'),
      );
      assert.equal((await client.get(id))?.result, 'once');
      assert.deepEqual(await client.counts(), {
        queued: 0,
        delayed: 0,
        running: 0,
        completed: 1,
        failed: 0,
        cancelled: 0,
      });
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('says that Redis lost its data, and what this process held of it, instead of "nothing is lost"', async (t) => {
    const skip = redisServerSkip();
    if (skip) return t.skip(skip);
    const server = await startRedis(); // no persistence: a restart empties it
    const log = new CaptureLogger();
    const client = new RedisTaskClient({ url: server.url, prefix: uniquePrefix(), logger: log, blockMs: 100 });
    try {
      const ids = await client.enqueueMany([1, 2, 3].map((n) => ({ name: 'echo', payload: n })));
      const held = await take(client, 2);
      await server.stop();
      await server.start();
      // The next fetch reconnects, finds the queue's marker gone and says so.
      await take(client, 1, 3000);
      const lost = log.warnings.filter((w) => /Redis lost the data of queue/.test(w));
      assert.equal(lost.length, 1, log.warnings.join('\n'));
      assert.match(lost[0]!, /This process held 2 of those tasks/);
      for (const task of held) assert.ok(lost[0]!.includes(task.id));
      assert.equal(client.stats.dataLosses, 1);

      await complete(client, held);
      assert.ok(
        log.warnings.some((w) => /2 outcome\(s\) could not be recorded: Redis no longer has their tasks/.test(w)),
      );
      assert.ok(!log.warnings.some((w) => /took them over|nothing is lost/.test(w)), log.warnings.join('\n'));
      assert.equal(client.staleOutcomes, 0);
      assert.equal(await client.get(ids[2]!), undefined, 'the queued one is gone too');
    } finally {
      await client.close();
      await server.dispose();
    }
  });

  it('escapes and bounds task names and producer text in every log line', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, leaseMs: 300, blockMs: 100, maxAttempts: 1 };
    const [log, otherLog] = [new CaptureLogger(), new CaptureLogger()];
    const [client, other] = [standalone({ ...options, logger: log }), standalone({ ...options, logger: otherLog })];
    await withClients([client, other], async () => {
      const forged = 'x\n[Nest] 1 - ERROR forged line \u001b[31mred\u001b[0m';
      const long = 'n'.repeat(1_000_000);
      const stream = client.keys.streams[1];
      // Undecodable entries: their id, name and fields are quoted in the warning.
      await client.redis.xadd(stream, '*', 'id', forged, 'name', forged, 'payload', '{');
      await client.redis.xadd(stream, '*', 'name', long, 'payload', '1', 'attempt', `soon\n${long}`);
      const ids = await client.enqueueMany([forged, long, forged, long].map((name, n) => ({ name, payload: n })));
      const tasks = await take(client, 4);
      assert.deepEqual(new Set(tasks.map((t) => t.id)), new Set(ids));
      // Results JSON cannot hold, named in a warning with the reason, which may come from the result itself.
      const hostile = {
        toJSON() {
          throw new Error('no\n[Nest] 1 - ERROR forged by toJSON \u001b[2J');
        },
      };
      await client.publish(
        tasks
          .slice(0, 2)
          .map((task, i) => ({ status: 'completed' as const, task, result: i ? hostile : 10n, durationMs: 1 })),
      );
      // Leases lost on the last attempt: the other consumer dead-letters them and says so.
      await client.markStarted(tasks.slice(2));
      client.redis.disconnect();
      assert.deepEqual(await take(other, 2, 2000), []);
      const lines = [...log.warnings, ...otherLog.warnings];
      assert.equal(lines.filter((w) => /cannot be run/.test(w)).length, 2, lines.join('\n'));
      assert.equal(lines.filter((w) => /cannot be stored as JSON/.test(w)).length, 2, lines.join('\n'));
      assert.equal(lines.filter((w) => /lost its lease/.test(w)).length, 2, lines.join('\n'));
      for (const line of lines) {
        // eslint-disable-next-line no-control-regex -- what must not reach a log line
        assert.doesNotMatch(line, /[\u0000-\u001f\u007f]/);
        assert.ok(line.length < 3000, `${line.length} chars`);
      }
    });
  });

  it('does not echo the password of a url with a wrong scheme', () => {
    assert.throws(
      () => new RedisTaskClient({ url: 'http://admin:s3cret-pass@cache.internal:6379/0' }),
      (error: Error) => {
        assert.match(error.message, /must be a redis:\/\/ or rediss:\/\/ URL/);
        assert.ok(!error.message.includes('s3cret-pass'), error.message);
        return true;
      },
    );
  });
});
