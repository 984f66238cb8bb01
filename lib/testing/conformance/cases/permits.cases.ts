import assert from 'node:assert/strict';
import { sleep } from '../../../common/backoff.js';
import type { PermitAnswer, RateLimit, TaskEnvelope } from '../../../interfaces/task-client.interface.js';
import type { ConformanceGroup } from '../conformance-case.interface.js';
import type { ConformanceClient } from '../conformance-options.interface.js';
import type { ConformanceContext } from '../conformance.context.js';
import { anError, completed, failed, released, retry } from '../conformance.context.js';

interface Limits {
  rateLimit?: RateLimit;
  concurrencyPerKey?: number;
}

/** Asks `client` for permits for `tasks`, all with the same limits; checks the shape of the answers. */
async function ask(client: ConformanceClient, tasks: readonly TaskEnvelope[], limits: Limits): Promise<PermitAnswer[]> {
  const answers = await client.acquirePermits!(tasks.map((task) => ({ task, ...limits })));
  assert.equal(answers.length, tasks.length, 'one answer per request');
  for (const answer of answers) {
    if (answer.granted) continue;
    assert.equal(answer.granted, false);
    assert.ok(
      Number.isFinite(answer.retryAfterMs) && answer.retryAfterMs > 0,
      `a denied request says how long to wait (> 0 ms), got ${String(answer.retryAfterMs)}`,
    );
  }
  return [...answers];
}

const granted = (answers: readonly PermitAnswer[]): number => answers.filter((a) => a.granted).length;

/** Enqueues tasks of one name with the given concurrency keys; takes them all from `client`, in enqueue order. */
async function enqueueKeyed(ctx: ConformanceContext, name: string, keys: readonly string[]): Promise<TaskEnvelope[]> {
  const ids = await ctx.client.enqueueMany(keys.map((concurrencyKey, i) => ({ name, payload: i, concurrencyKey })));
  const tasks = await ctx.takeIds(ctx.client, ids, 15_000);
  return ids.map((id) => tasks.find((t) => t.id === id)!);
}

/** A second consumer when the client has them, else the client itself (one process asking in two batches). */
async function otherConsumer(ctx: ConformanceContext): Promise<ConformanceClient> {
  return ctx.features.consumers ? ctx.consumer() : ctx.client;
}

/**
 * Rate limits and concurrency keys (`acquirePermits()`), which the worker
 * loop asks before it starts a delivery of a limited task: at most K
 * deliveries per task name and key hold a permit at once, across consumers;
 * a permit is given back with its delivery's outcome (any status) or when
 * its lease is lost; at most `max` grants per sliding interval; answers in
 * order, each request seeing the ones before it; a denied request uses
 * nothing and says how long to wait. And the `released` outcome with a
 * delay that gives a denied delivery back.
 */
export const PERMIT_CASES: ConformanceGroup = {
  title: 'rate limits and concurrency keys',
  cases: [
    {
      title: 'concurrencyKey is kept with the task: on the delivery and in get()',
      needs: ['permits'],
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.permit', null, { concurrencyKey: 'tenant-1' });
        const plain = await ctx.client.enqueue('conf.permit', null);
        const tasks = await ctx.takeIds(ctx.client, [id, plain], 15_000);
        assert.equal(tasks.find((t) => t.id === id)!.concurrencyKey, 'tenant-1');
        assert.equal(tasks.find((t) => t.id === plain)!.concurrencyKey, undefined);
        assert.equal((await ctx.get(id)).concurrencyKey, 'tenant-1');
      },
    },
    {
      title: 'answers come in order, each request seeing the permits granted before it in the batch',
      needs: ['permits'],
      async run(ctx) {
        const tasks = await enqueueKeyed(ctx, 'conf.permit', ['a', 'b', 'a', 'a', 'b']);
        const answers = await ask(ctx.client, tasks, { concurrencyPerKey: 1 });
        assert.deepEqual(
          answers.map((a) => a.granted),
          [true, true, false, false, false],
        );
      },
    },
    {
      title: 'at most concurrencyPerKey deliveries of a key hold a permit, across consumers asking at once',
      needs: ['permits'],
      async run(ctx) {
        const other = await otherConsumer(ctx);
        const ids = await ctx.client.enqueueMany(
          [0, 1, 2, 3, 4, 5].map((i) => ({ name: 'conf.permit', payload: i, concurrencyKey: 'shared' })),
        );
        const mine = await ctx.takeIds(ctx.client, ids.slice(0, 3), 15_000);
        const theirs = await ctx.takeIds(other, ids.slice(3), 15_000);
        const [a, b] = await Promise.all([
          ask(ctx.client, mine, { concurrencyPerKey: 2 }),
          ask(other, theirs, { concurrencyPerKey: 2 }),
        ]);
        assert.equal(granted(a) + granted(b), 2, 'two permits for the key, no more');
        // Other keys, and the same key under another task name, have their own count.
        const others = await enqueueKeyed(ctx, 'conf.permit', ['other', 'other']);
        assert.equal(granted(await ask(ctx.client, others, { concurrencyPerKey: 2 })), 2);
        const [renamed] = await enqueueKeyed(ctx, 'conf.permit.other-name', ['shared']);
        assert.equal(granted(await ask(ctx.client, [renamed!], { concurrencyPerKey: 2 })), 1);
      },
    },
    {
      title: 'a permit is given back with its delivery’s outcome, whatever the status',
      needs: ['permits'],
      async run(ctx) {
        const tasks = await enqueueKeyed(ctx, 'conf.permit', ['k', 'k', 'k', 'k', 'k']);
        const outcomes = [
          (t: TaskEnvelope) => completed(t),
          (t: TaskEnvelope) => released(t),
          (t: TaskEnvelope) => retry(t, anError('again'), 60_000),
          (t: TaskEnvelope) => failed(t, anError('dead')),
        ];
        for (let i = 0; i < outcomes.length; i++) {
          const [holder, next] = [tasks[i]!, tasks[i + 1]!];
          if (i === 0) assert.equal(granted(await ask(ctx.client, [holder], { concurrencyPerKey: 1 })), 1);
          assert.equal(granted(await ask(ctx.client, [next], { concurrencyPerKey: 1 })), 0, 'the key is full');
          await ctx.client.publish([outcomes[i]!(holder)]);
          assert.equal(
            granted(await ask(ctx.client, [next], { concurrencyPerKey: 1 })),
            1,
            `free again after a ${outcomes[i]!(holder).status} outcome`,
          );
        }
      },
    },
    {
      title: 'asking again for a delivery that holds a permit neither counts it twice nor denies it',
      needs: ['permits'],
      async run(ctx) {
        const [first, second] = await enqueueKeyed(ctx, 'conf.permit', ['k', 'k']);
        assert.equal(granted(await ask(ctx.client, [first!], { concurrencyPerKey: 2 })), 1);
        assert.equal(granted(await ask(ctx.client, [first!], { concurrencyPerKey: 2 })), 1);
        assert.equal(granted(await ask(ctx.client, [second!], { concurrencyPerKey: 2 })), 1);
      },
    },
    {
      title: 'at most max grants per interval for a task name, across consumers asking at once',
      needs: ['permits'],
      async run(ctx) {
        const other = await otherConsumer(ctx);
        const rateLimit = { max: 3, intervalMs: 120_000 };
        const ids = await ctx.client.enqueueMany([0, 1, 2, 3, 4, 5, 6].map((i) => ({ name: 'conf.rate', payload: i })));
        const mine = await ctx.takeIds(ctx.client, ids.slice(0, 4), 15_000);
        const theirs = await ctx.takeIds(other, ids.slice(4), 15_000);
        const [a, b] = await Promise.all([ask(ctx.client, mine, { rateLimit }), ask(other, theirs, { rateLimit })]);
        assert.equal(granted(a) + granted(b), 3);
        for (const answer of [...a, ...b]) {
          if (!answer.granted) assert.ok(answer.retryAfterMs <= rateLimit.intervalMs, 'no longer than the interval');
        }
        // Another task name has a window of its own.
        const [elsewhere] = await ctx.client.enqueueMany([{ name: 'conf.rate.other', payload: null }]);
        const [task] = await ctx.takeIds(ctx.client, [elsewhere!], 15_000);
        assert.equal(granted(await ask(ctx.client, [task!], { rateLimit })), 1);
      },
    },
    {
      title: 'the rate window slides: a denied request is granted once retryAfterMs has passed',
      needs: ['permits'],
      async run(ctx) {
        const rateLimit = { max: 1, intervalMs: 400 };
        const ids = await ctx.client.enqueueMany([0, 1].map((i) => ({ name: 'conf.rate', payload: i })));
        const [first, second] = await ctx.takeIds(ctx.client, ids, 15_000);
        const asked = Date.now();
        assert.equal(granted(await ask(ctx.client, [first!], { rateLimit })), 1);
        let answer = (await ask(ctx.client, [second!], { rateLimit }))[0]!;
        while (!answer.granted) {
          await sleep(answer.retryAfterMs + 5, ctx.signal);
          assert.ok(!ctx.signal.aborted, 'never granted');
          answer = (await ask(ctx.client, [second!], { rateLimit }))[0]!;
        }
        // Lower bound only: a slow machine makes this later, never earlier.
        assert.ok(Date.now() - asked >= rateLimit.intervalMs - 10, 'not before the first grant left the window');
      },
    },
    {
      title: 'a request denied by its key’s concurrency uses no start of the rate window',
      needs: ['permits'],
      async run(ctx) {
        const limits = { rateLimit: { max: 2, intervalMs: 120_000 }, concurrencyPerKey: 1 };
        const tasks = await enqueueKeyed(ctx, 'conf.permit', ['a', 'a', 'b', 'c']);
        const answers = await ask(ctx.client, tasks, limits);
        assert.deepEqual(
          answers.map((a) => a.granted),
          [true, false, true, false],
          'a: granted; a again: its key is full; b: the second start; c: the window is full',
        );
      },
    },
    {
      title: 'a permit whose delivery lost its lease is given back, and the old holder’s late outcome frees nothing',
      needs: ['permits', 'leases'],
      leases: 2,
      async run(ctx) {
        const other = await ctx.consumer();
        const [id, waiting] = await ctx.client.enqueueMany([
          { name: 'conf.permit', payload: 'held', concurrencyKey: 'k' },
          { name: 'conf.permit', payload: 'waits', concurrencyKey: 'k' },
        ]);
        const [stalled] = await ctx.take(ctx.client, 1, { extend: false });
        assert.equal(stalled!.id, id, 'the first task first');
        assert.equal(granted(await ask(ctx.client, [stalled!], { concurrencyPerKey: 1 })), 1);
        // The holder stalls; the task goes to the other consumer, whose delivery gets the key's permit.
        const [taken] = await ctx.takeIds(other, [id!], ctx.takeoverMs);
        let answer = (await ask(other, [taken!], { concurrencyPerKey: 1 }))[0]!;
        const deadline = Date.now() + ctx.takeoverMs;
        while (!answer.granted && Date.now() < deadline) {
          await sleep(Math.min(answer.retryAfterMs, 200), ctx.signal);
          answer = (await ask(other, [taken!], { concurrencyPerKey: 1 }))[0]!;
        }
        assert.ok(answer.granted, 'the new delivery got the permit the lost lease held');
        await ctx.client.publish([completed(stalled!, 'late')]);
        const [next] = await ctx.takeIds(other, [waiting!], 15_000);
        assert.equal(granted(await ask(other, [next!], { concurrencyPerKey: 1 })), 0, 'the new holder still holds it');
      },
    },
    {
      title: 'released with delayMs: waits uncharged for the delay, then comes back as the same attempt',
      needs: ['permits'],
      async run(ctx) {
        const [later, soon] = await ctx.client.enqueueMany([
          { name: 'conf.permit', payload: 'later' },
          { name: 'conf.permit', payload: 'soon' },
        ]);
        const tasks = await ctx.takeIds(ctx.client, [later!, soon!], 15_000);
        const byId = (id: string) => tasks.find((t) => t.id === id)!;
        await ctx.client.publish([
          { status: 'released', task: byId(later!), delayMs: 120_000 },
          { status: 'released', task: byId(soon!), delayMs: 300 },
        ]);
        const record = await ctx.get(later!);
        assert.equal(record.state, 'delayed');
        assert.equal(record.attempt, 1);
        assert.deepEqual(record.errors, []);
        const [again] = await ctx.takeIds(ctx.client, [soon!], 15_000);
        assert.equal(again!.attempt, 1, 'uncharged');
        await ctx.nothing(ctx.client, 300, 'the other waits out its delay');
      },
    },
  ],
};
