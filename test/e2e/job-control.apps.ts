/**
 * Job control across 3 full Nest apps (worker loop, 3 threads each;
 * test/fixtures/job-control/app.ts) on one queue, for any store
 * (job-control.fleet.ts): WorkerManager.cancel(id) in one app aborts the
 * handler running in another app's thread (the store's cancel notice, the
 * loop's cancel watch, ctx.signal); @Task({ concurrencyPerKey: 2 }) holds
 * across the three apps' loops (a ledger file the handlers append to from
 * their threads); a schedule every second in all three apps fires each tick
 * once.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { until } from '../support/app.js';
import { mostAtOnce, openFleet, type Fleet, type JobControlStore } from './job-control.fleet.js';

/** The schedule fires the apps logged (debug): "... fired task jcx.tick#<id> for <ISO tick>." */
function loggedFires(fleet: Fleet): Array<{ id: string; tick: string }> {
  return fleet.children.flatMap((c) =>
    c.output.flatMap((line) => {
      const match = / fired task jcx\.tick#(\S+) for (\d{4}-\S+?Z)\./.exec(line);
      return match ? [{ id: match[1]!, tick: match[2]! }] : [];
    }),
  );
}

export function jobControlAcrossApps(store: JobControlStore): void {
  describe(`${store.name} job control across 3 full apps (worker loop, threads)`, { skip: store.skip }, () => {
    let fleet: Fleet;
    before(async () => {
      fleet = await openFleet(store, 'app');
    });
    after(() => fleet.close());

    it("WorkerManager.cancel(id) in one app aborts the handler running in another app's thread; progress reached the store", async (t) => {
      const { producer } = fleet.queue;
      fleet.clear();
      const ids = await producer.enqueueMany([0, 1, 2].map((n) => ({ name: 'jcx.long', payload: n })));
      await until(() => fleet.events('start').length >= 3, 60_000, 'three long tasks to start');
      const starts = fleet.events('start');
      t.diagnostic(`the three tasks ran in ${new Set(starts.map(([, pid]) => pid)).size} process(es)`);
      await until(
        async () => (await Promise.all(ids.map((id) => producer.get(id)))).every((r) => r?.progress !== undefined),
        30_000,
        "the handlers' progress in the store",
      );
      assert.deepEqual((await producer.get(ids[0]!))!.progress, { stage: 'waiting' });
      for (const [, holderPid, id] of starts) {
        // Another app than the holder when there is one (the loop of one process may hold more than one task).
        const other = fleet.children.find((c) => c.pid !== holderPid) ?? fleet.children[0]!;
        assert.deepEqual(await other.send({ cmd: 'cancel', id }), { cancelled: true });
      }
      await until(() => fleet.events('aborted').length >= 3, 30_000, 'the handlers to abort');
      for (const [, holderPid, id] of starts) {
        const aborted = fleet.events('aborted').find(([, , i]) => i === id)!;
        assert.equal(aborted[1], holderPid, 'aborted where it ran');
        assert.equal(aborted[3], 'ERR_WORKER_TASK_CANCELLED', 'ctx.signal.reason is a TaskCancelledError');
        assert.equal((await producer.get(id!))!.state, 'cancelled');
      }
      await until(async () => (await producer.counts()).running === 0, 30_000, 'every delivery closed');
      const counts = await producer.counts();
      assert.deepEqual([counts.queued, counts.completed, counts.failed, counts.cancelled], [0, 0, 0, 3]);
      assert.equal(fleet.events('end').length, 0, 'no cancelled handler ran to its end');
      assert.equal(fleet.events('start').length, 3, 'and none started again');
    });

    it('@Task({ concurrencyPerKey: 2 }) holds across the three apps: at most 2 handlers per key at once', async (t) => {
      const { producer } = fleet.queue;
      fleet.clear();
      const keys = ['a', 'b', 'c'];
      const total = 45;
      const ids = await producer.enqueueMany(
        Array.from({ length: total }, (_, n) => ({
          name: 'jcx.limited',
          payload: { key: keys[n % keys.length], ms: 30 },
          concurrencyKey: keys[n % keys.length]!,
        })),
      );
      await until(
        async () => (await Promise.all(ids.map((id) => producer.get(id)))).every((r) => r?.state === 'completed'),
        120_000,
        `${total} keyed tasks to complete`,
      );
      const most = mostAtOnce(fleet.lines(), 'begin', ['finish']);
      for (const key of keys) assert.ok((most.get(key) ?? 0) <= 2, `${key}: ${most.get(key)} at once, limit 2`);
      assert.equal(fleet.events('begin').length, total, 'each ran once');
      assert.equal(fleet.events('finish').length, total, 'and to its end');
      const pids = new Set(fleet.events('begin').map(([, pid]) => pid));
      t.diagnostic(
        `ran in ${pids.size} process(es); most at once per key: ${JSON.stringify(Object.fromEntries(most))}`,
      );
    });
  });

  describe(`${store.name} schedules across 3 full apps`, { skip: store.skip }, () => {
    it('a schedule every second in all three apps fires each tick at most once', async (t) => {
      const key = `every-second-${randomUUID().slice(0, 6)}`;
      const fleet = await openFleet(store, 'app', { JOB_SCHEDULE: '1', JOB_SCHEDULE_KEY: key });
      try {
        const { producer, scheduleSnapshot } = fleet.queue;
        // Where the store keeps a marker (PostgreSQL): the marker and the
        // fires so far, in one snapshot. A fire moves the marker and inserts
        // its task in one transaction, so from here every tick up to the
        // last marker fired at most once (a tick fired twice makes more
        // fires than ticks; one may be skipped only if all three apps
        // stalled past it, which the catch-up rule allows).
        let start: { tick: string | null; fired: number } | undefined;
        if (scheduleSnapshot) {
          await until(async () => (await scheduleSnapshot(key)).tick !== null, 60_000, 'the schedule marker');
          start = await scheduleSnapshot(key);
          const from = start.fired;
          await until(async () => (await scheduleSnapshot(key)).fired >= from + 4, 60_000, 'four more ticks to fire');
        }
        await until(() => loggedFires(fleet).length >= 3, 60_000, 'three fires in the logs');
        await fleet.stop();

        // Every store: the fires the apps logged, each tick by one app only.
        const fires = loggedFires(fleet);
        const ticks = fires.map((f) => f.tick);
        assert.equal(new Set(ticks).size, ticks.length, `a tick fired twice: ${ticks.join(', ')}`);
        for (const fire of fires) assert.equal((await producer.get(fire.id))?.name, 'jcx.tick');
        const perApp = fleet.children.map((c) => c.output.filter((l) => / fired task /.test(l)).length);
        t.diagnostic(`${fires.length} schedule fires, by app: ${perApp.join(', ')}`);

        if (scheduleSnapshot && start) {
          const end = await scheduleSnapshot(key);
          const markerTicks = (Number(end.tick) - Number(start.tick)) / 1000;
          const fired = end.fired - start.fired;
          t.diagnostic(`${fired} fire(s) for ${markerTicks} tick(s) by the marker, each offered by 3 apps`);
          assert.ok(fired <= markerTicks, `${fired} fires for ${markerTicks} ticks: a tick fired more than once`);
          assert.ok(fired >= 4);
        }
      } finally {
        await fleet.close();
      }
    });
  });
}
