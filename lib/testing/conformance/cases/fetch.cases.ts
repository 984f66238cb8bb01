import assert from 'node:assert/strict';
import type { TaskEnvelope } from '../../../interfaces/task-client.interface.js';
import type { ConformanceGroup } from '../conformance-case.interface.js';
import { completed, idsOf, released, sliceSignal } from '../conformance.context.js';

/** fetch(): bounded, abortable, exclusive, in priority order, delays honoured. */
export const FETCH_CASES: ConformanceGroup = {
  title: 'fetch',
  cases: [
    {
      title: 'returns at most max tasks per call, and every task exactly once',
      async run(ctx) {
        const ids = await ctx.client.enqueueMany(
          Array.from({ length: 25 }, (_, i) => ({ name: 'conf.fetch', payload: i })),
        );
        const got = await ctx.take(ctx.client, 25, { max: 7 });
        assert.deepEqual(idsOf(got), [...ids].sort());
        for (const task of got) {
          assert.equal(task.name, 'conf.fetch');
          assert.equal(task.attempt, 1);
          assert.equal(task.payload, ids.indexOf(task.id));
        }
        await ctx.nothing(ctx.client, 200, 'every task is held');
        await ctx.client.publish(got.map((task) => completed(task)));
      },
    },
    {
      title: 'returns soon after its signal aborts, and loses nothing fetched meanwhile',
      async run(ctx) {
        // On an empty queue: a long-polling fetch must give up once aborted.
        const controller = new AbortController();
        const fetching = ctx.client.fetch(10, controller.signal);
        setTimeout(() => controller.abort(), 50);
        const ended = await Promise.race([
          fetching.then(() => true),
          new Promise<false>((resolve) => setTimeout(resolve, 5000, false)),
        ]);
        assert.ok(ended, 'fetch() had not returned 5 s after its signal aborted');
        assert.deepEqual([...(await fetching)], []);
        // With tasks ready and the signal already aborted: whatever it returns
        // belongs to the caller, who gives it back; nothing may go missing.
        const ids = await ctx.client.enqueueMany([1, 2, 3].map((n) => ({ name: 'conf.fetch', payload: n })));
        const late = await ctx.client.fetch(10, AbortSignal.abort());
        if (late.length > 0) await ctx.client.publish(late.map(released));
        const all = await ctx.take(ctx.client, 3);
        assert.deepEqual(idsOf(all), [...ids].sort());
        assert.ok(
          all.every((t) => t.attempt === 1),
          'a delivery released after an aborted fetch is not charged an attempt',
        );
      },
    },
    {
      title: 'never hands one task to two fetches at once',
      async run(ctx) {
        const ids = await ctx.client.enqueueMany(
          Array.from({ length: 120 }, (_, i) => ({ name: 'conf.fetch', payload: i })),
        );
        const halves = await Promise.all([
          ctx.take(ctx.client, 60, { max: 16 }),
          ctx.take(ctx.client, 60, { max: 16 }),
        ]);
        const all = [...halves[0], ...halves[1]];
        assert.equal(new Set(all.map((t) => t.id)).size, 120, 'no task twice');
        assert.deepEqual(idsOf(all), [...ids].sort());
      },
    },
    {
      title: 'never hands one task to two consumers at once',
      needs: ['consumers'],
      async run(ctx) {
        const consumers = [ctx.client, await ctx.consumer(), await ctx.consumer()];
        const ids = await ctx.client.enqueueMany(
          Array.from({ length: 150 }, (_, i) => ({ name: 'conf.fetch', payload: i })),
        );
        const taken: TaskEnvelope[][] = consumers.map(() => []);
        // Each consumer takes small batches until the queue is drained.
        await Promise.all(
          consumers.map(async (consumer, k) => {
            while (taken.reduce((n, list) => n + list.length, 0) < 150 && !ctx.signal.aborted) {
              // Not AbortSignal.any() with AbortSignal.timeout(): see sliceSignal().
              const slice = sliceSignal(ctx.signal, 250);
              const batch = await consumer.fetch(8, slice.signal).finally(slice.done);
              assert.ok(batch.length <= 8);
              // Held until the end of the case: their leases must not run out meanwhile.
              ctx.keepAlive(consumer, batch);
              taken[k]!.push(...batch);
              if (batch.length === 0) await new Promise((r) => setTimeout(r, 20));
            }
          }),
        );
        const all = taken.flat();
        assert.equal(new Set(all.map((t) => t.id)).size, all.length, 'no task held by two consumers');
        assert.deepEqual(idsOf(all), [...ids].sort());
        await Promise.all(consumers.map((consumer, k) => consumer.publish(taken[k]!.map((t) => completed(t)))));
        const counts = await ctx.client.counts();
        assert.equal(counts.completed, 150);
      },
    },
    {
      title: 'hands out higher priorities first, and equal priorities in enqueue order',
      async run(ctx) {
        const [a, b, c, d, e] = await ctx.client.enqueueMany([
          { name: 'conf.fetch', payload: 'a' },
          { name: 'conf.fetch', payload: 'b', priority: 5 },
          { name: 'conf.fetch', payload: 'c' },
          { name: 'conf.fetch', payload: 'd', priority: -5 },
          { name: 'conf.fetch', payload: 'e', priority: 5 },
        ]);
        const order: string[] = [];
        for (let i = 0; i < 5; i++) order.push(...(await ctx.take(ctx.client, 1)).map((t) => t.id));
        assert.deepEqual(order, [b, e, a, c, d]);
      },
    },
    {
      title: 'holds a delayed task back until it is due',
      async run(ctx) {
        const delayed = await ctx.client.enqueue('conf.fetch', 'later', { delayMs: 600 });
        const now = await ctx.client.enqueue('conf.fetch', 'now');
        assert.equal((await ctx.get(delayed)).state, 'delayed');
        const counts = await ctx.client.counts();
        assert.equal(counts.delayed, 1);
        assert.equal(counts.queued, 1);
        const [first] = await ctx.take(ctx.client, 1);
        assert.equal(first!.id, now);
        const [later] = await ctx.take(ctx.client, 1, { timeoutMs: 10_000 });
        assert.equal(later!.id, delayed);
        assert.equal(later!.payload, 'later');
        const record = await ctx.get(delayed);
        assert.ok(Date.now() >= record.runAt - 50, 'not handed out before its run time');
      },
    },
    {
      title: 'enqueues a given id once, and keeps the per-task maxAttempts on the envelope',
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.fetch', 'first', { id: 'conformance-own-id', maxAttempts: 7 });
        assert.equal(id, 'conformance-own-id');
        let again: string | undefined;
        try {
          again = await ctx.client.enqueue('conf.fetch', 'second', { id: 'conformance-own-id' });
        } catch {
          // Refusing the duplicate is allowed too; adding it a second time is not.
        }
        if (again !== undefined) assert.equal(again, id);
        const counts = await ctx.client.counts();
        assert.equal(counts.queued + counts.delayed + counts.running, 1);
        const [task] = await ctx.take(ctx.client, 1);
        assert.equal(task!.id, id);
        assert.equal(task!.payload, 'first');
        assert.equal(task!.maxAttempts, 7);
        assert.equal(await ctx.client.get('conformance-no-such-id'), undefined);
      },
    },
  ],
};
