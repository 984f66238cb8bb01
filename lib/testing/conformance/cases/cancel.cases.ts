import assert from 'node:assert/strict';
import { sleep } from '../../../common/backoff.js';
import type { TaskEnvelope, TaskOutcome } from '../../../interfaces/task-client.interface.js';
import type { ConformanceGroup } from '../conformance-case.interface.js';
import { anError, completed, failed, retry } from '../conformance.context.js';

const cancelled = (task: TaskEnvelope, started: boolean): TaskOutcome => ({ status: 'cancelled', task, started });

/** cancel(id) and watchCancels(): a waiting task never runs; a running one is cancelled in the store and its holder told. */
export const CANCEL_CASES: ConformanceGroup = {
  title: 'cancel',
  cases: [
    {
      title: 'a queued task that is cancelled is never delivered',
      needs: ['cancel'],
      async run(ctx) {
        const [keep, drop] = await ctx.client.enqueueMany([
          { name: 'conf.cancel', payload: 'keep' },
          { name: 'conf.cancel', payload: 'drop' },
        ]);
        assert.equal(await ctx.client.cancel!(drop!), true);
        const record = await ctx.get(drop!);
        assert.equal(record.state, 'cancelled');
        assert.equal(typeof record.finishedAt, 'number', 'finishedAt is set');
        assert.equal((await ctx.client.counts()).cancelled, 1);
        const [task] = await ctx.take(ctx.client, 1);
        assert.equal(task!.id, keep);
        await ctx.nothing(ctx.client, 400, 'a cancelled task must not be delivered');
      },
    },
    {
      title: 'a delayed task, and one waiting for its retry, that are cancelled never run',
      needs: ['cancel'],
      async run(ctx) {
        const later = await ctx.client.enqueue('conf.cancel', 'later', { delayMs: 300 });
        const again = await ctx.client.enqueue('conf.cancel', 'again');
        const [first] = await ctx.take(ctx.client, 1);
        assert.equal(first!.id, again);
        await ctx.client.publish([retry(first!, anError('once more'), 300)]);
        assert.equal(await ctx.client.cancel!(later), true);
        assert.equal(await ctx.client.cancel!(again), true);
        assert.equal((await ctx.get(later)).state, 'cancelled');
        const waited = await ctx.get(again);
        assert.equal(waited.state, 'cancelled');
        assert.equal(waited.errors.length, 1, 'the failed attempt is still on record');
        await ctx.nothing(ctx.client, 900, 'a cancelled delayed task or retry must not be delivered');
      },
    },
    {
      title:
        "a running task: cancelled at once, its holder told through watchCancels, the holder's late outcome ignored",
      needs: ['cancel'],
      async run(ctx) {
        // Another consumer where there can be one: the notice must cross processes.
        const holder = ctx.features.consumers ? await ctx.consumer() : ctx.client;
        const notices: string[] = [];
        const stop = holder.watchCancels!((ids) => notices.push(...ids));
        try {
          // A store's subscription may take a moment to be in place (LISTEN, SUBSCRIBE).
          await sleep(200, ctx.signal);
          const id = await ctx.client.enqueue('conf.cancel', { big: 'job' });
          const [task] = await ctx.take(holder, 1);
          assert.equal(task!.id, id);
          assert.equal(await ctx.client.cancel!(id), true);
          assert.equal(
            (await ctx.get(id)).state,
            'cancelled',
            'cancelled in the store at once, not when the holder answers',
          );
          await ctx.until(() => notices.includes(id), 'the holder to be told of the cancel');
          // The holder's late outcomes: fenced, whatever they say.
          await holder.publish([completed(task!, 'too late')]);
          await holder.publish([cancelled(task!, true)]);
          const record = await ctx.get(id);
          assert.equal(record.state, 'cancelled');
          assert.equal(record.result, undefined);
          assert.deepEqual(record.errors, []);
          assert.equal((await ctx.client.counts()).cancelled, 1);
          assert.equal((await ctx.client.counts()).running, 0);
          if (ctx.features.leases) {
            const lost = await holder.extendLeases!([task!]);
            assert.ok(
              Array.isArray(lost) && lost.some((t) => t.id === id),
              'extendLeases() reports a cancelled delivery as lost',
            );
          }
          await ctx.nothing(ctx.client, 300, 'a cancelled running task must not come back');
        } finally {
          stop();
        }
      },
    },
    {
      title: 'a cancelled outcome after cancel(id) closes the delivery and changes nothing else',
      needs: ['cancel'],
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.cancel', 1);
        const [task] = await ctx.take(ctx.client, 1);
        assert.equal(await ctx.client.cancel!(id), true);
        await ctx.client.publish([cancelled(task!, false)]);
        const record = await ctx.get(id);
        assert.equal(record.state, 'cancelled');
        assert.equal(record.attempt, 1);
        await ctx.nothing(ctx.client, 300);
      },
    },
    {
      title: 'cancelling a finished or unknown task returns false and changes nothing',
      needs: ['cancel'],
      async run(ctx) {
        const [done, dead, twice] = await ctx.client.enqueueMany(
          [1, 2, 3].map((n) => ({ name: 'conf.cancel', payload: n })),
        );
        const tasks = await ctx.take(ctx.client, 2);
        const byId = (id: string) => tasks.find((t) => t.id === id)!;
        assert.deepEqual(tasks.map((t) => t.id).sort(), [done, dead].sort());
        await ctx.client.publish([completed(byId(done!), 'ok'), failed(byId(dead!), anError('no'))]);
        assert.equal(await ctx.client.cancel!(done!), false);
        assert.equal(await ctx.client.cancel!(dead!), false);
        assert.equal(await ctx.client.cancel!('conf-no-such-task'), false);
        assert.equal(await ctx.client.cancel!(twice!), true);
        assert.equal(await ctx.client.cancel!(twice!), false, 'a second cancel finds it finished');
        assert.equal((await ctx.get(done!)).state, 'completed');
        assert.equal((await ctx.get(dead!)).state, 'failed');
        assert.equal((await ctx.client.counts()).cancelled, 1);
      },
    },
  ],
};
