import assert from 'node:assert/strict';
import type { ScheduleFire } from '../../../interfaces/task-store.interface.js';
import type { ConformanceGroup } from '../conformance-case.interface.js';
import type { ConformanceClient } from '../conformance-options.interface.js';
import { completed } from '../conformance.context.js';

/** A tick on a whole minute, as the scheduler offers them (epoch ms). */
const TICK = Date.UTC(2030, 0, 1, 6, 0, 0);
const MINUTE = 60_000;

function fire(
  key: string,
  tick: number,
  whenNew: ScheduleFire['whenNew'] = 'fire',
  payload: unknown = tick,
): ScheduleFire {
  return { key, tick, whenNew, task: { name: 'conf.scheduled', payload } };
}

async function offer(client: ConformanceClient, f: ScheduleFire): Promise<string | undefined> {
  const id = await client.fireSchedule!(f);
  assert.ok(id === undefined || (typeof id === 'string' && id !== ''), `fireSchedule() returns an id or undefined`);
  return id;
}

/**
 * Schedule markers (`fireSchedule()`): every process running a schedule
 * offers each tick, and the store fires it once — the first offer of a tick
 * later than the key's marker records it and enqueues the task; the others,
 * an older tick, or the same tick again, change nothing. A key the store has
 * never seen only records its first tick with `whenNew: 'record'` (a new
 * schedule does not fire for a tick that passed before it existed).
 */
export const SCHEDULE_CASES: ConformanceGroup = {
  title: 'schedules',
  cases: [
    {
      title: 'a tick offered by several consumers at once fires once, as an ordinary task',
      needs: ['schedules'],
      async run(ctx) {
        const offerers: ConformanceClient[] = [ctx.client];
        if (ctx.features.consumers) offerers.push(await ctx.consumer(), await ctx.consumer());
        // Every offerer offers the tick several times at once, as N processes waking together would.
        const ids = await Promise.all(
          offerers.flatMap((client) => [0, 1, 2].map(() => offer(client, fire('conf.report', TICK)))),
        );
        const fired = ids.filter((id) => id !== undefined);
        assert.equal(fired.length, 1, `one fire per tick, got ${fired.length}`);
        const [task] = await ctx.takeIds(ctx.client, [fired[0]!], 15_000);
        assert.equal(task!.name, 'conf.scheduled');
        assert.equal(task!.payload, TICK);
        assert.equal(task!.attempt, 1);
        await ctx.client.publish([completed(task!, 'done')]);
        assert.equal((await ctx.get(fired[0]!)).state, 'completed');
        await ctx.nothing(ctx.client, 200, 'the tick fired once');
      },
    },
    {
      title: 'the same tick again, or an older one, fires nothing; a later one fires',
      needs: ['schedules'],
      async run(ctx) {
        assert.ok(await offer(ctx.client, fire('conf.report', TICK)), 'a new key with whenNew "fire" fires');
        assert.equal(await offer(ctx.client, fire('conf.report', TICK)), undefined, 'the same tick');
        assert.equal(await offer(ctx.client, fire('conf.report', TICK - MINUTE)), undefined, 'an older tick');
        const later = await offer(ctx.client, fire('conf.report', TICK + MINUTE, 'record'));
        assert.ok(later, 'a later tick fires, whatever whenNew says once the key is known');
        assert.equal(await offer(ctx.client, fire('conf.report', TICK)), undefined, 'older than the marker now');
        assert.equal((await ctx.get(later)).payload, TICK + MINUTE);
      },
    },
    {
      title: 'whenNew "record" on a new key records the tick without firing; the next tick fires',
      needs: ['schedules'],
      async run(ctx) {
        assert.equal(await offer(ctx.client, fire('conf.fresh', TICK, 'record')), undefined);
        assert.equal((await ctx.client.counts()).queued, 0, 'nothing enqueued');
        assert.equal(await offer(ctx.client, fire('conf.fresh', TICK, 'fire')), undefined, 'the tick is recorded');
        assert.ok(await offer(ctx.client, fire('conf.fresh', TICK + MINUTE, 'fire')));
        assert.equal((await ctx.client.counts()).queued, 1);
      },
    },
    {
      title: 'markers are per key: the same tick fires once for each schedule',
      needs: ['schedules'],
      async run(ctx) {
        const a = await offer(ctx.client, fire('conf.a', TICK, 'fire', 'a'));
        const b = await offer(ctx.client, fire('conf.b', TICK, 'fire', 'b'));
        assert.ok(a && b && a !== b);
        assert.equal((await ctx.get(a)).payload, 'a');
        assert.equal((await ctx.get(b)).payload, 'b');
      },
    },
    {
      title: 'a fire keeps the task options it was offered with (priority, maxAttempts)',
      needs: ['schedules'],
      async run(ctx) {
        const id = await offer(ctx.client, {
          key: 'conf.options',
          tick: TICK,
          whenNew: 'fire',
          task: { name: 'conf.scheduled', payload: { at: TICK }, maxAttempts: 4, priority: 5 },
        });
        assert.ok(id);
        const [task] = await ctx.takeIds(ctx.client, [id], 15_000);
        assert.deepEqual(task!.payload, { at: TICK });
        assert.equal(task!.maxAttempts, 4);
      },
    },
  ],
};
