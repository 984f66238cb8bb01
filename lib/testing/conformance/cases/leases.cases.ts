import assert from 'node:assert/strict';
import type { TaskEnvelope } from '../../../interfaces/task-client.interface.js';
import type { ConformanceGroup } from '../conformance-case.interface.js';
import type { ConformanceClient } from '../conformance-options.interface.js';
import { completed, idsOf, released } from '../conformance.context.js';

/** What `extendLeases()` resolved with, as a list (a client may resolve with nothing when all leases held). */
async function lostOf(client: ConformanceClient, tasks: readonly TaskEnvelope[]): Promise<readonly TaskEnvelope[]> {
  return (await client.extendLeases!(tasks)) ?? [];
}

/**
 * Leases and fencing, across consumers: a lease held is exclusive, a lease
 * that runs out passes the task on, the old holder's late outcome changes
 * nothing, and the old holder learns of the loss from `extendLeases()`.
 */
export const LEASE_CASES: ConformanceGroup = {
  title: 'leases and fencing',
  cases: [
    {
      title: 'a task whose lease is extended stays with its holder past its lease',
      needs: ['leases'],
      leases: 3,
      async run(ctx) {
        const other = await ctx.consumer();
        const id = await ctx.client.enqueue('conf.lease', null);
        const tasks = await ctx.take(ctx.client, 1, { extend: false });
        const stop = ctx.keepExtending(ctx.client, tasks);
        try {
          await ctx.nothing(other, ctx.leaseMs * 2.5 + 500, 'the lease is kept alive');
        } finally {
          await stop();
        }
        await ctx.client.publish([completed(tasks[0]!, 'holder')]);
        assert.equal((await ctx.get(id)).result, 'holder');
      },
    },
    {
      title: 'a lease that runs out passes the task on, and the old holder’s late outcome is ignored',
      needs: ['leases'],
      leases: 2,
      async run(ctx) {
        const other = await ctx.consumer();
        const id = await ctx.client.enqueue('conf.lease', 'payload');
        const [stalled] = await ctx.take(ctx.client, 1, { extend: false });
        await ctx.client.markStarted?.([stalled!]);
        // The holder stalls: it stops extending, and comes back later.
        const [taken] = await ctx.takeIds(other, [id], ctx.takeoverMs);
        assert.equal(taken!.payload, 'payload');
        assert.notDeepEqual(taken!.receipt, stalled!.receipt, 'a new delivery');
        await ctx.client.publish([completed(stalled!, 'from the stalled holder')]);
        const during = await ctx.get(id);
        assert.equal(during.state, 'running', 'the late outcome changed nothing');
        assert.equal(during.result, undefined);
        await other.publish([completed(taken!, 'from the new holder')]);
        const record = await ctx.get(id);
        assert.equal(record.state, 'completed');
        assert.equal(record.result, 'from the new holder');
      },
    },
    {
      title: 'extendLeases() resolves with the deliveries whose lease was lost, and only those',
      needs: ['leases'],
      leases: 2,
      async run(ctx) {
        const other = await ctx.consumer();
        const [lostId, keptId] = await ctx.client.enqueueMany([
          { name: 'conf.lease', payload: 'lost' },
          { name: 'conf.lease', payload: 'kept' },
        ]);
        const held = await ctx.take(ctx.client, 2, { extend: false });
        const lostTask = held.find((t) => t.id === lostId)!;
        const keptTask = held.find((t) => t.id === keptId)!;
        const stop = ctx.keepExtending(ctx.client, [keptTask]);
        let taken: TaskEnvelope[];
        try {
          taken = await ctx.takeIds(other, [lostId!], ctx.takeoverMs);
        } finally {
          await stop();
        }
        const lost = await lostOf(ctx.client, [lostTask, keptTask]);
        assert.deepEqual(
          lost.map((t) => t.id),
          [lostId],
          'the task another consumer took over, not the one still held',
        );
        assert.equal(lost[0], lostTask, 'the same envelope object it was given');
        assert.deepEqual(idsOf(await lostOf(ctx.client, [lostTask])), [lostId], 'still lost when asked again');
        await other.publish([completed(taken[0]!)]);
        await ctx.client.publish([completed(keptTask)]);
        assert.equal((await ctx.get(keptId!)).state, 'completed');
      },
    },
    {
      title: 'a delivery its holder has settled is not reported lost by extendLeases()',
      needs: ['leases'],
      async run(ctx) {
        const ids = await ctx.client.enqueueMany([1, 2].map((n) => ({ name: 'conf.lease', payload: n })));
        const tasks = await ctx.take(ctx.client, 2);
        // The loop extends a task until its outcome is published; the two can cross.
        const publishing = ctx.client.publish([completed(tasks[0]!), released(tasks[1]!)]);
        const extending = lostOf(ctx.client, tasks);
        await publishing;
        assert.deepEqual([...(await extending)], [], 'settled by its holder is not lost');
        assert.deepEqual([...(await lostOf(ctx.client, tasks))], [], 'nor after the publish');
        assert.equal((await ctx.get(ids[0]!)).state, 'completed');
      },
    },
    {
      title: 'a killed consumer’s tasks come back; only those that had started are charged an attempt',
      needs: ['leases'],
      leases: 2,
      async run(ctx) {
        const victim = await ctx.consumer();
        const survivor = await ctx.consumer();
        const ids = await ctx.client.enqueueMany([0, 1, 2, 3].map((n) => ({ name: 'conf.lease', payload: n })));
        const held = await ctx.take(victim, 4);
        const started = held.find((t) => t.payload === 0)!;
        const marks = typeof victim.markStarted === 'function';
        if (marks) await victim.markStarted!([started]);
        await ctx.kill(victim);
        const back = await ctx.takeIds(survivor, ids, ctx.takeoverMs);
        const attempts = Object.fromEntries(back.map((t) => [t.payload as number, t.attempt]));
        assert.equal(attempts[0], 2, 'the started task lost an attempt');
        if (marks) {
          assert.deepEqual(
            [attempts[1], attempts[2], attempts[3]],
            [1, 1, 1],
            'tasks that never started are not charged',
          );
          for (const task of back.filter((t) => t.payload !== 0)) {
            assert.deepEqual((await ctx.get(task.id)).errors, [], 'and carry no error');
          }
        }
        const record = await ctx.get(started.id);
        assert.equal(record.errors.length, 1);
        assert.match(record.errors[0]!.message, /lease|died|stalled/i, 'the error says the lease was lost');
        await survivor.publish(back.map((t) => completed(t)));
      },
    },
    {
      title: 'a lease lost on the last attempt dead-letters the task as a crash, by the limit registered for its name',
      needs: ['leases'],
      leases: 2,
      async run(ctx) {
        const victim = await ctx.consumer();
        const survivor = await ctx.consumer();
        const policies = [
          { name: 'conf.fragile', maxAttempts: 1 },
          { name: 'conf.sturdy', maxAttempts: 3 },
        ];
        for (const client of [ctx.client, victim, survivor]) client.registerTasks?.(policies);
        const [fragile, sturdy] = await ctx.client.enqueueMany([
          { name: 'conf.fragile', payload: 'f' },
          { name: 'conf.sturdy', payload: 's' },
        ]);
        const held = await ctx.take(victim, 2);
        await victim.markStarted?.(held);
        await ctx.kill(victim);
        const [again] = await ctx.takeIds(survivor, [sturdy!], ctx.takeoverMs);
        assert.equal(again!.attempt, 2, 'the sturdy task has attempts left');
        await ctx.until(
          async () => (await ctx.get(fragile!)).state === 'failed',
          'the fragile task to be dead-lettered',
        );
        const record = await ctx.get(fragile!);
        assert.equal(record.failureReason, 'crash');
        assert.equal(record.attempt, 1);
        const dead = (await ctx.client.deadLetters()).find((d) => d.id === fragile);
        assert.equal(dead?.reason, 'crash');
        await survivor.publish([completed(again!)]);
      },
    },
    {
      title: 'a task that kills its process every time ends dead-lettered, even before any start mark lands',
      needs: ['leases'],
      leases: 8,
      async run(ctx) {
        const policies = [{ name: 'conf.killer', maxAttempts: 1 }];
        ctx.client.registerTasks?.(policies);
        const id = await ctx.client.enqueue('conf.killer', null);
        // Each round a new process fetches the task and dies before it can
        // record anything; a store may forgive some of these, not all.
        for (let round = 1; ; round++) {
          assert.ok(round <= 7, 'still not dead-lettered after 6 processes died holding it');
          const victim = await ctx.consumer();
          victim.registerTasks?.(policies);
          let dead = false;
          await ctx.until(
            async () => {
              dead = (await ctx.get(id)).state === 'failed';
              return dead || (await victim.fetch(1, AbortSignal.timeout(200))).length > 0;
            },
            'the task to come back, or to be dead-lettered',
            ctx.takeoverMs,
          );
          await ctx.kill(victim);
          if (!dead) continue;
          const record = await ctx.get(id);
          assert.equal(record.failureReason, 'crash');
          assert.equal(record.attempt, 1);
          break;
        }
      },
    },
  ],
};
