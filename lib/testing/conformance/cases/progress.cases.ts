import assert from 'node:assert/strict';
import type { ConformanceGroup } from '../conformance-case.interface.js';
import { completed, released } from '../conformance.context.js';

/** reportProgress(): the latest value of the current delivery shows in get(id); others are fenced. */
export const PROGRESS_CASES: ConformanceGroup = {
  title: 'progress',
  cases: [
    {
      title: 'get(id) shows the latest progress of a running task, and keeps it once finished',
      needs: ['progress'],
      async run(ctx) {
        const [a, b] = await ctx.client.enqueueMany([
          { name: 'conf.progress', payload: 'a' },
          { name: 'conf.progress', payload: 'b' },
        ]);
        const tasks = await ctx.take(ctx.client, 2);
        const task = (id: string) => tasks.find((t) => t.id === id)!;
        assert.equal((await ctx.get(a!)).progress, undefined, 'no progress before any was reported');
        await ctx.client.reportProgress!([{ task: task(a!), value: 10 }]);
        await ctx.client.reportProgress!([
          { task: task(a!), value: 55 },
          { task: task(b!), value: { step: 'parse', done: 3, of: 7, notes: ['ünïcode', 'ok'] } },
        ]);
        assert.equal((await ctx.get(a!)).progress, 55);
        assert.deepEqual((await ctx.get(b!)).progress, { step: 'parse', done: 3, of: 7, notes: ['ünïcode', 'ok'] });
        await ctx.client.publish([completed(task(a!), 'done')]);
        const record = await ctx.get(a!);
        assert.equal(record.state, 'completed');
        assert.equal(record.progress, 55, 'the last attempt’s latest progress stays');
      },
    },
    {
      title: 'progress of an earlier delivery, or of a finished task, changes nothing',
      needs: ['progress'],
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.progress', null);
        const [first] = await ctx.take(ctx.client, 1);
        await ctx.client.publish([released(first!)]);
        const [second] = await ctx.take(ctx.client, 1);
        assert.equal(second!.id, id);
        await ctx.client.reportProgress!([{ task: first!, value: 'stale' }]);
        assert.equal((await ctx.get(id)).progress, undefined, 'the released delivery is fenced');
        await ctx.client.reportProgress!([{ task: second!, value: 'current' }]);
        assert.equal((await ctx.get(id)).progress, 'current');
        await ctx.client.publish([completed(second!)]);
        await ctx.client.reportProgress!([{ task: second!, value: 'after the end' }]);
        assert.equal((await ctx.get(id)).progress, 'current');
      },
    },
    {
      title: 'progress of a cancelled task is fenced',
      needs: ['progress', 'cancel'],
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.progress', null);
        const [task] = await ctx.take(ctx.client, 1);
        await ctx.client.reportProgress!([{ task: task!, value: 1 }]);
        assert.equal(await ctx.client.cancel!(id), true);
        await ctx.client.reportProgress!([{ task: task!, value: 2 }]);
        const record = await ctx.get(id);
        assert.equal(record.state, 'cancelled');
        assert.equal(record.progress, 1);
      },
    },
  ],
};
