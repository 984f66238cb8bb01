import assert from 'node:assert/strict';
import type { ConformanceGroup } from '../conformance-case.interface.js';
import { anError, completed, failed, retry } from '../conformance.context.js';

const N = 'conf.unique';

/** enqueue(..., { uniqueKey, onDuplicate }): at most one waiting or running task per task name and key. */
export const UNIQUE_KEY_CASES: ConformanceGroup = {
  title: 'unique keys',
  cases: [
    {
      title: "keep (the default): a second enqueue with the key returns the first task's id and changes nothing",
      needs: ['uniqueKeys'],
      async run(ctx) {
        const id = await ctx.client.enqueue(N, { v: 1 }, { uniqueKey: 'report:7' });
        const again = await ctx.client.enqueue(N, { v: 2 }, { uniqueKey: 'report:7', priority: 9 });
        const kept = await ctx.client.enqueue(N, { v: 3 }, { uniqueKey: 'report:7', onDuplicate: 'keep' });
        assert.equal(again, id);
        assert.equal(kept, id);
        const record = await ctx.get(id);
        assert.deepEqual(record.payload, { v: 1 });
        assert.equal(record.uniqueKey, 'report:7');
        assert.equal((await ctx.client.counts()).queued, 1);
        const [task] = await ctx.take(ctx.client, 1);
        assert.deepEqual(task!.payload, { v: 1 });
        // Running holds the key too.
        assert.equal(await ctx.client.enqueue(N, { v: 4 }, { uniqueKey: 'report:7', onDuplicate: 'replace' }), id);
        assert.deepEqual((await ctx.get(id)).payload, { v: 1 }, 'a running task is never replaced');
        await ctx.nothing(ctx.client, 300, 'no second task for a key in use');
      },
    },
    {
      title: 'replace: a waiting task takes the new payload and options under the same id',
      needs: ['uniqueKeys'],
      async run(ctx) {
        const id = await ctx.client.enqueue(N, { v: 1 }, { uniqueKey: 'k', delayMs: 60_000 });
        assert.equal((await ctx.get(id)).state, 'delayed');
        const same = await ctx.client.enqueue(N, { v: 2 }, { uniqueKey: 'k', onDuplicate: 'replace' });
        assert.equal(same, id);
        const record = await ctx.get(id);
        assert.deepEqual(record.payload, { v: 2 });
        assert.equal(record.state, 'queued', 'its place follows the new delayMs');
        const [task] = await ctx.take(ctx.client, 1, { timeoutMs: 5000 });
        assert.equal(task!.id, id);
        assert.deepEqual(task!.payload, { v: 2 });
        await ctx.nothing(ctx.client, 300, 'the replaced task is delivered once');
      },
    },
    {
      title: 'the key is free again once its task completes, fails for good or is cancelled; a retry keeps it',
      needs: ['uniqueKeys'],
      async run(ctx) {
        const first = await ctx.client.enqueue(N, 1, { uniqueKey: 'once' });
        const [a] = await ctx.take(ctx.client, 1);
        await ctx.client.publish([retry(a!, anError('again'), 60_000)]);
        assert.equal(await ctx.client.enqueue(N, 2, { uniqueKey: 'once' }), first, 'waiting for a retry holds the key');
        // That retry waits a minute: the rest of the case uses another key.
        const second = await ctx.client.enqueue(N, 3, { uniqueKey: 'other' });
        const [c] = await ctx.take(ctx.client, 1);
        assert.equal(c!.id, second);
        await ctx.client.publish([completed(c!)]);
        const third = await ctx.client.enqueue(N, 4, { uniqueKey: 'other' });
        assert.notEqual(third, second, 'completed frees the key');
        const [d] = await ctx.take(ctx.client, 1);
        assert.equal(d!.id, third);
        await ctx.client.publish([failed(d!, anError('dead'))]);
        const fourth = await ctx.client.enqueue(N, 5, { uniqueKey: 'other' });
        assert.notEqual(fourth, third, 'failing for good frees the key');
        if (typeof ctx.client.cancel === 'function' && ctx.features.cancel) {
          assert.equal(await ctx.client.cancel(fourth), true);
          const fifth = await ctx.client.enqueue(N, 6, { uniqueKey: 'other' });
          assert.notEqual(fifth, fourth, 'cancelling frees the key');
          assert.equal((await ctx.get(fifth)).state, 'queued');
        }
      },
    },
    {
      title: 'keys are scoped by task name',
      needs: ['uniqueKeys'],
      async run(ctx) {
        const a = await ctx.client.enqueue('conf.unique.a', null, { uniqueKey: 'same' });
        const b = await ctx.client.enqueue('conf.unique.b', null, { uniqueKey: 'same' });
        const c = await ctx.client.enqueue('conf.unique.a', null);
        const d = await ctx.client.enqueue('conf.unique.a', null, { uniqueKey: 'Same' });
        assert.equal(new Set([a, b, c, d]).size, 4);
        await ctx.take(ctx.client, 4);
      },
    },
    {
      title: 'enqueueMany(): duplicates within the batch and against the queue resolve to one task each',
      needs: ['uniqueKeys'],
      async run(ctx) {
        const existing = await ctx.client.enqueue(N, 'old', { uniqueKey: 'x' });
        const ids = await ctx.client.enqueueMany([
          { name: N, payload: 'x2', uniqueKey: 'x' },
          { name: N, payload: 'y1', uniqueKey: 'y' },
          { name: N, payload: 'y2', uniqueKey: 'y', onDuplicate: 'replace' },
          { name: N, payload: 'free' },
        ]);
        assert.equal(ids.length, 4);
        assert.equal(ids[0], existing);
        assert.equal(ids[2], ids[1]);
        assert.notEqual(ids[3], ids[1]);
        assert.deepEqual((await ctx.get(existing)).payload, 'old');
        assert.deepEqual((await ctx.get(ids[1]!)).payload, 'y2');
        const tasks = await ctx.take(ctx.client, 3);
        assert.deepEqual(tasks.map((t) => t.id).sort(), [existing, ids[1]!, ids[3]!].sort());
        await ctx.nothing(ctx.client, 300);
      },
    },
    {
      title: 'several producers racing to enqueue one key make one task',
      needs: ['uniqueKeys'],
      async run(ctx) {
        const producers = ctx.features.consumers
          ? [ctx.client, await ctx.consumer(), await ctx.consumer()]
          : [ctx.client];
        for (let round = 0; round < 5; round++) {
          const key = `race-${round}`;
          const ids = await Promise.all(
            Array.from({ length: 12 }, async (_, i) =>
              producers[i % producers.length]!.enqueue(
                N,
                { i },
                { uniqueKey: key, onDuplicate: i % 2 ? 'replace' : 'keep' },
              ),
            ),
          );
          assert.equal(new Set(ids).size, 1, `one id for key ${key}, got ${[...new Set(ids)].join(', ')}`);
        }
        const tasks = await ctx.take(ctx.client, 5);
        assert.equal(new Set(tasks.map((t) => t.id)).size, 5);
        await ctx.nothing(ctx.client, 300, 'one task per key');
      },
    },
    {
      title: 'get() and the delivery show uniqueKey and concurrencyKey',
      needs: ['uniqueKeys'],
      async run(ctx) {
        const id = await ctx.client.enqueue(N, null, { uniqueKey: 'u-1', concurrencyKey: 'tenant-9' });
        const record = await ctx.get(id);
        assert.equal(record.uniqueKey, 'u-1');
        assert.equal(record.concurrencyKey, 'tenant-9');
        const [task] = await ctx.take(ctx.client, 1);
        assert.equal(task!.concurrencyKey, 'tenant-9');
        const plain = await ctx.client.enqueue(N, null);
        const bare = await ctx.get(plain);
        assert.equal(bare.uniqueKey, undefined);
        assert.equal(bare.concurrencyKey, undefined);
      },
    },
    {
      title: 'bad keys are refused naming the task, before anything is written',
      needs: ['uniqueKeys'],
      async run(ctx) {
        const refused = async (fn: () => unknown, field: string) =>
          assert.rejects(
            async () => fn(),
            (error: Error) => error instanceof TypeError && error.message.includes(N) && error.message.includes(field),
          );
        await refused(() => ctx.client.enqueue(N, null, { uniqueKey: '' }), 'uniqueKey');
        await refused(() => ctx.client.enqueue(N, null, { uniqueKey: 7 as never }), 'uniqueKey');
        await refused(() => ctx.client.enqueue(N, null, { onDuplicate: 'replace' }), 'onDuplicate');
        await refused(
          () => ctx.client.enqueue(N, null, { uniqueKey: 'k', onDuplicate: 'merge' as never }),
          'onDuplicate',
        );
        await refused(() => ctx.client.enqueue(N, null, { concurrencyKey: '' }), 'concurrencyKey');
        await refused(
          () =>
            ctx.client.enqueueMany([
              { name: N, payload: 1, uniqueKey: 'fine' },
              { name: N, payload: 2, uniqueKey: '' },
            ]),
          'uniqueKey',
        );
        const counts = await ctx.client.counts();
        assert.equal(counts.queued + counts.delayed, 0, 'nothing was written');
        assert.notEqual(await ctx.client.enqueue(N, null, { uniqueKey: 'fine' }), undefined, 'the key is still free');
      },
    },
  ],
};
