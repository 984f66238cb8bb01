/**
 * RedisTaskClient against a real redis-server: outcomes that must always be
 * storable (hostile handler errors), the attempt limit of lease expiry, and
 * the Lua scripts run through ioredis's defineCommand.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redisSkip } from '../support/services.js';
import { Redis } from 'ioredis';
import { serializeError } from '../../lib/boundary/error.serializer.js';
import { MAX_STORED_ERROR_BYTES } from '../../lib/clients/kit/json.encoder.js';
import { until } from '../support/app.js';
import {
  bootRedisApp,
  CaptureLogger,
  complete,
  finished,
  REDIS_URL,
  standalone,
  take,
  uniquePrefix,
  withClients,
} from './redis.helpers.js';

describe('RedisTaskClient outcomes that JSON cannot hold as they are', { skip: redisSkip() }, () => {
  it('publishes a handler error with a self-referencing own property, and the outcomes after it', async () => {
    const client = standalone({ prefix: uniquePrefix() });
    await withClients([client], async () => {
      const [failed, retried, done] = await client.enqueueMany([1, 2, 3].map((n) => ({ name: 'echo', payload: n })));
      const tasks = await take(client, 3);
      const task = (id: string) => tasks.find((t) => t.id === id)!;
      const thrown = new Error('card declined') as Error & { order?: Record<string, unknown>; self?: unknown };
      thrown.order = { id: 7 };
      thrown.self = thrown;
      thrown.order.error = thrown;
      const error = serializeError(thrown);
      // A publish that throws is retried by the loop forever, every later outcome of the process behind it.
      await client.publish([
        { status: 'failed', task: task(failed!), reason: 'error', error },
        {
          status: 'retry',
          task: task(retried!),
          reason: 'error',
          error,
          nextAttempt: 2,
          delayMs: 60_000,
          runAt: Date.now() + 60_000,
        },
      ]);
      await complete(client, [task(done!)]);

      const record = (await client.get(failed!))!;
      assert.equal(record.state, 'failed');
      assert.equal(record.errors[0]?.message, 'card declined');
      assert.deepEqual(record.errors[0]?.props?.self, {
        name: 'Error',
        message: 'card declined',
        order: { id: 7, error: '[Circular]' },
        self: '[Circular]',
      });
      const [letter] = await client.deadLetters();
      assert.equal(letter?.id, failed);
      assert.equal(letter?.error.message, 'card declined');
      assert.equal((await client.get(retried!))?.state, 'delayed');
      assert.equal((await client.get(retried!))?.errors[0]?.message, 'card declined');
      assert.equal((await client.get(done!))?.state, 'completed');
      assert.equal(client.staleOutcomes, 0);
    });
  });

  it('stores hostile errors bounded: huge, BigInt, NUL, lone surrogates, throwing getters', async () => {
    const client = standalone({ prefix: uniquePrefix() });
    await withClients([client], async () => {
      const id = await client.enqueue('echo', 1);
      const [task] = await take(client, 1);
      const props: Record<string, unknown> = { big: 2n ** 80n, blob: 'x'.repeat(3_000_000) };
      Object.defineProperty(props, 'secret', {
        enumerable: true,
        get: () => {
          throw new Error('not readable');
        },
      });
      const error = { name: 'HostileError', message: `nul\u0000 and \uD800 lone`, props };
      await client.publish([{ status: 'failed', task: task!, reason: 'error', error }]);
      const stored = await client.redis.hget(client.keys.record(id), 'err:1');
      assert.ok(stored !== null && Buffer.byteLength(stored) <= MAX_STORED_ERROR_BYTES, `${stored?.length} chars`);
      const [kept] = (await client.get(id))!.errors;
      assert.equal(kept?.message, 'nul\uFFFD and \uFFFD lone');
      assert.equal(kept?.props?.big, String(2n ** 80n));
      assert.match(String(kept?.props?.secret), /unreadable: not readable/);
      assert.match(String(kept?.props?.blob), /…\[\+\d+ chars\]$/);
    });
  });
});

describe('RedisTaskClient lease expiry and attempt limits', { skip: redisSkip() }, () => {
  it('dead-letters a taken-over task by its registered @Task limit, not the client default', async () => {
    const prefix = uniquePrefix();
    const log = new CaptureLogger();
    const options = { prefix, leaseMs: 300, blockMs: 100 }; // maxAttempts: the default, 3
    const [dying, survivor] = [standalone(options), standalone({ ...options, logger: log })];
    survivor.registerTasks([
      { name: 'fragile', maxAttempts: 1 },
      { name: 'echo', maxAttempts: 5 },
    ]);
    await withClients([dying, survivor], async () => {
      const [fragile, ownLimit, foreign] = await dying.enqueueMany([
        { name: 'fragile', payload: 1 },
        { name: 'fragile', payload: 2, maxAttempts: 2 },
        { name: 'another-service.task', payload: 3 },
      ]);
      const started = await take(dying, 3);
      assert.equal(started.length, 3);
      await dying.markStarted(started);
      // The process "dies": cut off from Redis, it extends nothing any more.
      dying.redis.disconnect();
      const again = await take(survivor, 2, 5000);
      assert.deepEqual(new Set(again.map((t) => t.id)), new Set([ownLimit, foreign]));
      assert.ok(
        again.every((t) => t.attempt === 2),
        'its own maxAttempts (2), and the fallback (3) for a name this process does not know, allow a second attempt',
      );
      const record = (await survivor.get(fragile!))!;
      assert.equal(record.state, 'failed');
      assert.equal(record.failureReason, 'crash');
      assert.equal(record.attempt, 1, 'dead after one lost lease: @Task({ maxAttempts: 1 })');
      assert.deepEqual(
        record.errors.map((e) => e.name),
        ['LeaseExpiredError'],
      );
      const [letter] = await survivor.deadLetters();
      assert.equal(letter?.id, fragile);
      assert.equal(letter?.reason, 'crash');
      assert.ok(
        log.warnings.some((w) => /"fragile".*lost its lease 1 time\(s\).*out of attempts \(attempt 1\)/.test(w)),
      );
      await complete(survivor, again);
    });
  });

  it('gets the limits from the worker loop: the module’s retry.maxAttempts decides, not the client’s maxAttempts', async () => {
    const prefix = uniquePrefix();
    const options = { url: REDIS_URL, prefix, leaseMs: 300, blockMs: 100 };
    const dying = standalone(options);
    const id = await dying.enqueue('noop');
    const started = await take(dying, 1);
    assert.equal(started.length, 1);
    await dying.markStarted(started);
    dying.redis.disconnect();
    const booted = await bootRedisApp({ ...options, maxAttempts: 3 }, { retry: { maxAttempts: 1 } });
    try {
      const record = await finished(booted.client, id);
      assert.equal(record.failureReason, 'crash');
      assert.equal(record.attempt, 1);
    } finally {
      await booted.close();
      await dying.close();
    }
  });
});

describe('RedisTaskClient scripts', { skip: redisSkip() }, () => {
  it('runs its scripts after the server lost its script cache (SCRIPT FLUSH, a restart)', async () => {
    const client = standalone({ prefix: uniquePrefix() });
    const admin = new Redis(REDIS_URL);
    await withClients([client], async () => {
      await client.enqueue('echo', 1);
      await admin.script('FLUSH');
      await client.enqueueMany([2, 3].map((n) => ({ name: 'echo', payload: n })));
      await admin.script('FLUSH');
      const tasks = await take(client, 3);
      await admin.script('FLUSH');
      await complete(client, tasks);
      await admin.script('FLUSH');
      await until(async () => (await client.counts()).completed === 3, 5000, 'three completed');
    }).finally(() => admin.disconnect());
  });
});
