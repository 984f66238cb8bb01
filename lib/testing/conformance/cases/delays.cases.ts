import assert from 'node:assert/strict';
import { MAX_TIMER_MS, sleep } from '../../../common/backoff.js';
import type { ConformanceGroup } from '../conformance-case.interface.js';
import type { ConformanceContext } from '../conformance.context.js';
import { anError, completed, retry } from '../conformance.context.js';

/** Past what `setTimeout` can hold (Node fires after 1 ms instead, and warns). */
const FAR_AWAY_MS = MAX_TIMER_MS + 3_600_000;
/** How long the quiet of a consumer is watched. */
const WATCH_MS = 1500;
/** Wake-ups allowed in that time: a few from housekeeping; a busy loop makes about a thousand. */
const MAX_WAKEUPS = 10;

/**
 * Counts the wake-ups of `watch()` and Node's TimeoutOverflowWarnings while
 * `during` runs and for WATCH_MS after it, with the watch proven live first
 * (a task enqueued for it must wake it).
 */
async function quietWhile(
  ctx: ConformanceContext,
  during: () => Promise<void>,
): Promise<{ wakeups: number; overflows: number }> {
  let wakeups = 0;
  let overflows = 0;
  const onWarning = (warning: Error) => {
    if (warning.name === 'TimeoutOverflowWarning') overflows++;
  };
  process.on('warning', onWarning);
  let woken: () => void = () => undefined;
  const unwatch = ctx.client.watch?.(() => {
    wakeups++;
    woken();
  });
  try {
    if (unwatch) {
      // Proven live by an enqueue from another consumer where there are
      // several: only what reaches other processes (a NOTIFY) wakes it then,
      // and a LISTEN connection may take a moment to come up.
      const producer = ctx.features.consumers ? await ctx.consumer() : ctx.client;
      await ctx.until(async () => {
        const wake = new Promise<void>((resolve) => (woken = resolve));
        const id = await producer.enqueue('conf.delay', 'wake-up call');
        const [task] = await ctx.takeIds(ctx.client, [id], 10_000);
        await ctx.client.publish([completed(task!)]);
        return Promise.race([wake.then(() => true), sleep(1000, ctx.signal).then(() => false)]);
      }, 'watch() to wake on an enqueue');
      woken = () => undefined;
    }
    await during();
    wakeups = 0;
    overflows = 0;
    await sleep(WATCH_MS, ctx.signal);
    return { wakeups, overflows };
  } finally {
    unwatch?.();
    process.off('warning', onWarning);
  }
}

/** Delays of any length: due tasks wake sleepers, far-off ones cost nothing while they wait. */
export const DELAY_CASES: ConformanceGroup = {
  title: 'delays',
  cases: [
    {
      title: 'watch() wakes a sleeping consumer when a task is enqueued',
      needs: ['watch'],
      async run(ctx) {
        const { wakeups } = await quietWhile(ctx, async () => undefined);
        assert.ok(wakeups <= MAX_WAKEUPS, `${wakeups} wake-ups of an idle consumer in ${WATCH_MS} ms`);
      },
    },
    {
      title: `a task delayed past 2^31 ms waits without a busy loop (no wake-ups, no TimeoutOverflowWarning)`,
      async run(ctx) {
        let id = '';
        const { wakeups, overflows } = await quietWhile(ctx, async () => {
          id = await ctx.client.enqueue('conf.delay', 'far', { delayMs: FAR_AWAY_MS });
          // Give a NOTIFY, or whatever tells consumers about new work, time to arrive.
          await sleep(300, ctx.signal);
        });
        assert.equal(overflows, 0, `${overflows} TimeoutOverflowWarning(s): a delay went to setTimeout as it was`);
        assert.ok(wakeups <= MAX_WAKEUPS, `${wakeups} wake-ups in ${WATCH_MS} ms: a busy loop`);
        const record = await ctx.get(id);
        assert.equal(record.state, 'delayed');
        assert.ok(record.runAt > Date.now() + MAX_TIMER_MS, `runAt ${record.runAt}`);
        assert.equal((await ctx.client.counts()).delayed, 1);
        await ctx.nothing(ctx.client, 300, 'a task delayed by 25 days is not due');
      },
    },
    {
      title: 'a retry delayed past 2^31 ms waits without a busy loop',
      async run(ctx) {
        const id = await ctx.client.enqueue('conf.delay', 'retry me');
        const { wakeups, overflows } = await quietWhile(ctx, async () => {
          const [task] = await ctx.takeIds(ctx.client, [id], 10_000);
          await ctx.client.publish([retry(task!, anError('much later'), FAR_AWAY_MS)]);
          await sleep(300, ctx.signal);
        });
        assert.equal(overflows, 0, `${overflows} TimeoutOverflowWarning(s)`);
        assert.ok(wakeups <= MAX_WAKEUPS, `${wakeups} wake-ups in ${WATCH_MS} ms: a busy loop`);
        const record = await ctx.get(id);
        assert.equal(record.state, 'delayed');
        assert.equal(record.attempt, 2);
        await ctx.nothing(ctx.client, 300, 'a retry delayed by 25 days is not due');
      },
    },
  ],
};
