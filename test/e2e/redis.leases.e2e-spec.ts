/**
 * RedisTaskClient leases against a real redis-server: what extendLeases()
 * reports lost, what markStarted() changes about the attempts a lost lease
 * costs, and how soon a dead consumer's unstarted deliveries move on.
 *
 * Idle times are set on the server (XCLAIM ... IDLE, to the same consumer,
 * JUSTID: no delivery counted; a consumer's last heartbeat) instead of
 * waited for, so that the tests decide which threshold an entry is past
 * rather than racing the clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redisSkip } from '../support/services.js';
import { Redis } from 'ioredis';
import type { TaskEnvelope } from '../../lib/index.js';
import type { RedisTaskClient } from '../../lib/redis.js';
import { CaptureLogger, complete, REDIS_URL, standalone, take, uniquePrefix, withClients } from './redis.helpers.js';

interface Receipt {
  band: number;
  entryId: string;
}

/** Makes the entries of `tasks` look untouched for `ms`, still held by `holder`. */
async function idle(admin: Redis, holder: RedisTaskClient, tasks: readonly TaskEnvelope[], ms: number) {
  for (const task of tasks) {
    const { band, entryId } = task.receipt as Receipt;
    await admin.xclaim(holder.keys.streams[band]!, 'workers', holder.consumer, 0, entryId, 'IDLE', ms, 'JUSTID');
  }
}

/** Makes `holder` look as if its last extension was `ms` ago, and its entries of `tasks` untouched as long. */
async function silent(admin: Redis, holder: RedisTaskClient, tasks: readonly TaskEnvelope[], ms: number) {
  const [seconds, micros] = await admin.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  await admin.hset(holder.keys.heartbeats, holder.consumer, String(now - ms));
  await idle(admin, holder, tasks, ms);
}

describe('RedisTaskClient extendLeases()', { skip: redisSkip() }, () => {
  it('resolves with the deliveries whose lease was lost, counts and logs each once, and not the ones it settled', async () => {
    const prefix = uniquePrefix();
    const log = new CaptureLogger();
    const [holder, rival] = [
      standalone({ prefix, leaseMs: 10_000, logger: log }),
      standalone({ prefix, leaseMs: 10_000 }),
    ];
    const admin = new Redis(REDIS_URL);
    await withClients([holder, rival], async () => {
      await holder.enqueueMany([1, 2, 3, 4].map((n) => ({ name: 'echo', payload: n })));
      const tasks = await take(holder, 4);
      await holder.markStarted(tasks);
      const [kept, settled, ...gone] = tasks as [TaskEnvelope, TaskEnvelope, ...TaskEnvelope[]];
      // Two leases run out (the holder stalled) and the rival takes those entries over.
      await idle(admin, holder, gone, 11_000);
      const taken = await take(rival, 2, 5000);
      assert.deepEqual(new Set(taken.map((t) => t.id)), new Set(gone.map((t) => t.id)));
      await complete(holder, [settled]);

      const lost = await holder.extendLeases(tasks);
      assert.deepEqual(new Set(lost), new Set(gone), 'the very envelopes whose lease was lost');
      assert.deepEqual(await holder.extendLeases(tasks), lost, 'lost again on the next extension');
      assert.equal(holder.lostLeases, 2, 'counted once per delivery, not per extension');
      assert.equal(
        log.warnings.filter((w) => /Lost the lease of 2 held task/.test(w)).length,
        1,
        log.warnings.join('\n'),
      );

      // Their late outcomes are fenced and counted; the loss was logged already.
      await complete(holder, gone, 'late');
      assert.equal(holder.staleOutcomes, 2);
      assert.ok(!log.warnings.some((w) => /stale outcome/.test(w)), log.warnings.join('\n'));
      await complete(rival, taken, 'fresh');
      assert.deepEqual(
        (await Promise.all(gone.map((t) => rival.get(t.id)))).map((r) => r?.result),
        ['fresh', 'fresh'],
      );
      assert.deepEqual(await holder.extendLeases([kept]), []);
      await complete(holder, [kept]);
      assert.equal((await holder.counts()).completed, 4);
    }).finally(() => admin.disconnect());
  });
});

describe('RedisTaskClient markStarted()', { skip: redisSkip() }, () => {
  it('charges a lost lease only to deliveries that started, and hands unstarted ones over after half the lease', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, leaseMs: 10_000, blockMs: 100 };
    const dying = standalone(options);
    const clients = [dying];
    // A consumer's first fetch looks for expired leases at once: one per step, so no step waits for a claim round.
    const fresh = () => {
      const client = standalone(options);
      clients.push(client);
      return client;
    };
    const admin = new Redis(REDIS_URL);
    await withClients(clients, async () => {
      const ids = await dying.enqueueMany([1, 2, 3].map((n) => ({ name: 'echo', payload: n })));
      const tasks = await take(dying, 3);
      const [running, ...prefetched] = tasks as [TaskEnvelope, ...TaskEnvelope[]];
      await dying.markStarted([running]);
      await dying.extendLeases(tasks); // as its worker loop does every leaseMs / 3
      // The process dies: nobody extends its leases any more.
      dying.redis.disconnect();

      // Silent for 40% of a lease: no entry is taken over yet.
      await silent(admin, dying, tasks, 4000);
      assert.deepEqual(await fresh().fetch(3, AbortSignal.timeout(300)), []);
      // 60%: the unstarted ones are, as the same attempt; the started one is not.
      await silent(admin, dying, tasks, 6000);
      const second = fresh();
      const early = await take(second, 2, 5000);
      assert.deepEqual(new Set(early.map((t) => t.id)), new Set(prefetched.map((t) => t.id)));
      assert.deepEqual(
        early.map((t) => t.attempt),
        [1, 1],
      );
      assert.deepEqual(await fresh().fetch(3, AbortSignal.timeout(300)), []);
      // Past the lease the started one moves too, charged: attempt 2, the lost attempt's error on record.
      await idle(admin, dying, [running], 11_000);
      const third = fresh();
      const [late] = await take(third, 1, 5000);
      assert.equal(late?.id, running.id);
      assert.equal(late?.attempt, 2);
      const record = (await third.get(running.id))!;
      assert.deepEqual(
        record.errors.map((e) => e.name),
        ['LeaseExpiredError'],
      );
      assert.match(record.errors[0]!.message, /attempt 1 did not finish/);
      for (const task of early) assert.deepEqual((await third.get(task.id))?.errors, []);
      const stats = clients.map((c) => c.stats);
      assert.deepEqual(
        {
          expired: stats.reduce((n, s) => n + s.expiredLeases, 0),
          uncharged: stats.reduce((n, s) => n + s.unchargedExpiries, 0),
        },
        { expired: 3, uncharged: 2 },
      );
      await complete(second, early);
      await complete(third, [late!]);
      assert.equal((await third.counts()).completed, ids.length);
    }).finally(() => admin.disconnect());
  });

  it('leaves the unstarted deliveries of a consumer that does not extend leases alone until the lease runs out', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, leaseMs: 10_000, blockMs: 100 };
    const [holder, other] = [standalone(options), standalone(options)];
    const admin = new Redis(REDIS_URL);
    await withClients([holder, other], async () => {
      await holder.enqueueMany([1, 2].map((n) => ({ name: 'echo', payload: n })));
      const held = await take(holder, 2);
      // Untouched for 60% of a lease, by a consumer that never extends: nothing says it stopped.
      await idle(admin, holder, held, 6000);
      assert.deepEqual(await other.fetch(2, AbortSignal.timeout(300)), []);
      await complete(holder, held);
    }).finally(() => admin.disconnect());
  });

  it('ignores a note from a consumer that lost the delivery (fenced)', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, leaseMs: 10_000, blockMs: 100 };
    const [stalled, other] = [standalone(options), standalone(options)];
    const admin = new Redis(REDIS_URL);
    await withClients([stalled, other], async () => {
      await stalled.enqueue('echo', 1);
      const [task] = await take(stalled, 1);
      await stalled.extendLeases([task!]);
      await silent(admin, stalled, [task!], 6000);
      const [again] = await take(other, 1, 5000);
      assert.equal(again?.attempt, 1);
      await other.extendLeases([again!]);
      // The stalled consumer wakes up and notes the start it made before: too late, not its delivery any more.
      await stalled.markStarted([task!]);
      await silent(admin, other, [again!], 6000);
      const [third] = await take(stalled, 1, 5000);
      assert.equal(third?.attempt, 1, 'the second delivery never started: no attempt charged');
      await complete(stalled, [third!]);
    }).finally(() => admin.disconnect());
  });

  it('still dead-letters a task whose process dies before its start is noted, within a bound', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, leaseMs: 300, blockMs: 100, maxAttempts: 1 };
    const log = new CaptureLogger();
    const clients: RedisTaskClient[] = [];
    await withClients(clients, async () => {
      const producer = standalone({ ...options, logger: log });
      clients.push(producer);
      const id = await producer.enqueue('exit');
      let deliveries = 0;
      for (let i = 0; i < 10; i++) {
        const consumer = standalone({ ...options, logger: log });
        clients.push(consumer);
        const got = await take(consumer, 1, 2000);
        if (got.length === 0) break;
        deliveries++;
        assert.equal(got[0]!.attempt, 1, 'never noted as started: never charged');
        consumer.redis.disconnect(); // dies before markStarted() reached Redis
      }
      const record = (await producer.get(id))!;
      assert.equal(record.state, 'failed');
      assert.equal(record.failureReason, 'crash');
      assert.equal(deliveries, 4, 'maxAttempts (1) plus 3 unnoted losses');
      assert.ok(
        log.warnings.some((w) => /lost its lease 4 time\(s\)/.test(w)),
        log.warnings.join('\n'),
      );
    });
  });
});
