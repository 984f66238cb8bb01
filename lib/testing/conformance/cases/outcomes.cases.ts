import assert from 'node:assert/strict';
import type { ConformanceGroup } from '../conformance-case.interface.js';
import { anError, completed, failed, released, retry } from '../conformance.context.js';

/** publish(): each outcome kind as get(), counts() and deadLetters() show it; exactly one outcome per delivery. */
export const OUTCOME_CASES: ConformanceGroup = {
  title: 'outcomes',
  cases: [
    {
      title: 'completed: the result is kept and the task counts as completed',
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.outcome', { n: 21 });
        const [task] = await ctx.take(ctx.client, 1);
        assert.equal((await ctx.get(id)).state, 'running');
        await ctx.client.publish([completed(task!, { doubled: 42 })]);
        const record = await ctx.get(id);
        assert.equal(record.state, 'completed');
        assert.deepEqual(record.result, { doubled: 42 });
        assert.equal(record.attempt, 1);
        assert.deepEqual(record.errors, []);
        assert.equal((await ctx.client.counts()).completed, 1);
      },
    },
    {
      title: 'retry: the task comes back as the next attempt, same id and payload, its error kept',
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.outcome', { keep: 'me' });
        const [first] = await ctx.take(ctx.client, 1);
        await ctx.client.publish([retry(first!, anError('try again'))]);
        const between = await ctx.get(id);
        assert.ok(['queued', 'delayed'].includes(between.state), between.state);
        assert.equal(between.attempt, 2);
        assert.deepEqual(
          between.errors.map((e) => [e.name, e.message]),
          [['ConformanceError', 'try again']],
        );
        const [second] = await ctx.take(ctx.client, 1);
        assert.equal(second!.id, id);
        assert.equal(second!.attempt, 2);
        assert.deepEqual(second!.payload, { keep: 'me' });
        assert.notEqual(second, first);
      },
    },
    {
      title: 'retry with a delay: the task waits for it',
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.outcome', null);
        const [task] = await ctx.take(ctx.client, 1);
        await ctx.client.publish([retry(task!, anError('later'), 60_000)]);
        const record = await ctx.get(id);
        assert.equal(record.state, 'delayed');
        assert.ok(record.runAt >= Date.now() + 50_000, `runAt ${record.runAt} is not a minute ahead`);
        await ctx.nothing(ctx.client, 400, 'a retry delayed by a minute is not due');
      },
    },
    {
      title: 'failed: a dead letter with its reason, last attempt and every error',
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.outcome', { order: 7 });
        const [first] = await ctx.take(ctx.client, 1);
        await ctx.client.publish([retry(first!, anError('first'))]);
        const [second] = await ctx.take(ctx.client, 1);
        await ctx.client.publish([failed(second!, anError('second', 'FinalError'), 'timeout')]);
        const record = await ctx.get(id);
        assert.equal(record.state, 'failed');
        assert.equal(record.failureReason, 'timeout');
        assert.equal(record.attempt, 2);
        assert.deepEqual(
          record.errors.map((e) => e.message),
          ['first', 'second'],
        );
        const dead = (await ctx.client.deadLetters()).find((d) => d.id === id);
        assert.ok(dead, 'listed by deadLetters()');
        assert.equal(dead.name, 'conf.outcome');
        assert.deepEqual(dead.payload, { order: 7 });
        assert.equal(dead.reason, 'timeout');
        assert.equal(dead.attempt, 2);
        assert.equal(dead.error.name, 'FinalError');
        assert.deepEqual(
          dead.errors.map((e) => e.message),
          ['first', 'second'],
        );
        assert.equal((await ctx.client.counts()).failed, 1);
      },
    },
    {
      title: 'deadLetters() lists the newest first, at most limit',
      async run(ctx) {
        const ids = await ctx.client.enqueueMany([1, 2, 3].map((n) => ({ name: 'conf.outcome', payload: n })));
        for (const id of ids) {
          const [task] = await ctx.takeIds(ctx.client, [id], 10_000);
          await ctx.client.publish([failed(task!, anError(`dead ${id}`))]);
          await new Promise((r) => setTimeout(r, 20));
        }
        const dead = await ctx.client.deadLetters(2);
        assert.deepEqual(
          dead.map((d) => d.id),
          [ids[2], ids[1]],
        );
      },
    },
    {
      title:
        'a dead letter retried and failing again keeps every earlier error, in order; one retried and completing keeps the earlier errors and no stale ones',
      needs: ['retryDeadLetter'],
      async run(ctx) {
        const { client } = ctx;
        const messages = async (id: string) => (await ctx.get(id)).errors.map((e) => e.message);
        const id = await client.enqueue('conf.outcome', { order: 8 });
        // Runs attempt 1 into a retry with the given error; returns the delivery of attempt 2.
        const secondAttempt = async (first: string) => {
          const [a] = await ctx.take(client, 1);
          assert.equal(a!.attempt, 1);
          await client.publish([retry(a!, anError(first))]);
          const [b] = await ctx.take(client, 1);
          assert.equal(b!.attempt, 2);
          return b!;
        };
        await client.publish([failed(await secondAttempt('a1'), anError('a2'))]);
        assert.equal(await client.retryDeadLetter!(id), true);
        const back = await ctx.get(id);
        assert.equal(back.attempt, 1);
        assert.deepEqual(await messages(id), ['a1', 'a2'], 'kept when put back');
        await client.publish([failed(await secondAttempt('b1'), anError('b2'))]);
        assert.deepEqual(await messages(id), ['a1', 'a2', 'b1', 'b2'], 'failing again overwrites nothing');
        const dead = (await client.deadLetters()).find((d) => d.id === id);
        assert.ok(dead, 'listed by deadLetters() again');
        assert.equal(dead.attempt, 2);
        assert.deepEqual(
          dead.errors.map((e) => e.message),
          ['a1', 'a2', 'b1', 'b2'],
        );
        assert.equal(await client.retryDeadLetter!(id), true);
        // Fails on attempt 1, completes on attempt 2: the attempt-2 error of an earlier run must not show.
        await client.publish([completed(await secondAttempt('c1'), 'done')]);
        const record = await ctx.get(id);
        assert.equal(record.state, 'completed');
        assert.equal(record.attempt, 2);
        assert.deepEqual(await messages(id), ['a1', 'a2', 'b1', 'b2', 'c1']);
      },
    },
    {
      title: 'released: back as the same attempt, uncharged, available at once',
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.outcome', 'again');
        const [task] = await ctx.take(ctx.client, 1);
        await ctx.client.publish([released(task!)]);
        const record = await ctx.get(id);
        assert.equal(record.state, 'queued');
        assert.equal(record.attempt, 1);
        assert.deepEqual(record.errors, []);
        const [again] = await ctx.take(ctx.client, 1, { timeoutMs: 5000 });
        assert.equal(again!.id, id);
        assert.equal(again!.attempt, 1);
      },
    },
    {
      title: 'exactly one outcome per delivery: a second outcome, or the same batch again, changes nothing',
      async run(ctx) {
        const [a, b, c] = await ctx.client.enqueueMany(
          ['a', 'b', 'c'].map((payload) => ({ name: 'conf.outcome', payload })),
        );
        const tasks = await ctx.take(ctx.client, 3);
        const task = (id: string) => tasks.find((t) => t.id === id)!;
        const batch = [completed(task(a!), 'A'), retry(task(b!), anError('b'), 60_000), failed(task(c!), anError('c'))];
        await ctx.client.publish(batch);
        // The reply to a publish can be lost; the loop then sends the same batch again.
        await ctx.client.publish(batch);
        await ctx.client.publish([failed(task(a!), anError('late')), completed(task(c!), 'C')]);
        const [ra, rb, rc] = await Promise.all([ctx.get(a!), ctx.get(b!), ctx.get(c!)]);
        assert.equal(ra.state, 'completed');
        assert.equal(ra.result, 'A');
        assert.deepEqual(ra.errors, []);
        assert.equal(rb.attempt, 2, 'the retry counted once');
        assert.equal(rb.errors.length, 1);
        assert.equal(rc.state, 'failed');
        assert.equal(rc.errors.length, 1);
        assert.equal(rc.result, undefined);
      },
    },
    {
      title: 'an outcome of an earlier delivery of the task (released, fetched again) is ignored',
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.outcome', null);
        const [first] = await ctx.take(ctx.client, 1);
        await ctx.client.publish([released(first!)]);
        const [second] = await ctx.take(ctx.client, 1);
        assert.equal(second!.id, id);
        await ctx.client.publish([completed(first!, 'from the first delivery')]);
        assert.equal((await ctx.get(id)).state, 'running', 'the current delivery decides');
        await ctx.client.publish([completed(second!, 'from the second delivery')]);
        const record = await ctx.get(id);
        assert.equal(record.state, 'completed');
        assert.equal(record.result, 'from the second delivery');
      },
    },
  ],
};
