/**
 * Job control across 3 real processes on one queue, for any store
 * (job-control.fleet.ts): each child (test/fixtures/job-control/child.ts) is
 * a task client of its own on the direct TaskClient / TaskStore API.
 * Schedule ticks offered by all fire once; unique keys raced by all resolve
 * to one task each; concurrency permits never let more than K run per key
 * (a ledger of starts and ends, in the order they happened); a rate limit
 * holds across processes (on the store's own grant times); a cancel in one
 * process aborts the task running in another. Nothing here asserts how long
 * anything took.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { until } from '../support/app.js';
import { mostAtOnce, openFleet, type Fleet, type JobControlStore } from './job-control.fleet.js';

interface UniqueVariant {
  title: string;
  keys: number;
  /** What process `p` (pid `pid`) enqueues. */
  tasks(keys: string[], p: number, pid: string): Array<Record<string, unknown> & { uniqueKey: string }>;
  /** With one enqueue() each, all at once, instead of one enqueueMany(). */
  one?: boolean;
  /** What the one task of a key must carry. */
  check(payload: unknown, pids: Set<string>): void;
}

/** The same keys from every process (in opposite orders), each with its pid: the task keeps one of them. */
const samePerProcess = (onDuplicate: 'keep' | 'replace', one: boolean): UniqueVariant => ({
  title: `${one ? 'enqueue()' : 'enqueueMany()'} with '${onDuplicate}'`,
  keys: 150,
  one,
  tasks: (keys, p, pid) =>
    (p % 2 === 0 ? keys : [...keys].reverse()).map((uniqueKey) => ({
      name: 'jc3.sync',
      payload: { pid },
      uniqueKey,
      onDuplicate,
    })),
  check: (payload, pids) =>
    assert.ok(pids.has((payload as { pid: string }).pid), 'the payload is one of the processes'),
});

const variants: UniqueVariant[] = [
  samePerProcess('keep', true),
  samePerProcess('keep', false),
  samePerProcess('replace', true),
  samePerProcess('replace', false),
  {
    title: "enqueueMany() with 'keep' then 'replace' of each key",
    keys: 30,
    tasks: (keys, p) =>
      keys.flatMap((uniqueKey) =>
        [0, 1].map((k) => ({
          name: 'unique',
          payload: { from: p, k },
          uniqueKey,
          onDuplicate: k === 1 ? 'replace' : 'keep',
        })),
      ),
    // The last enqueue of the key replaced the payload: always one with k = 1.
    check: (payload) => assert.equal((payload as { k: number }).k, 1),
  },
];

export function jobControlAcrossProcesses(store: JobControlStore): void {
  describe(`${store.name} job control across 3 processes`, { skip: store.skip }, () => {
    // A fleet of its own per case, closed after it: three idle processes per finished case would add up.
    const fleets: Fleet[] = [];
    const fleet = async () => {
      const opened = await openFleet(store, 'child');
      fleets.push(opened);
      return opened;
    };
    afterEach(() => Promise.all(fleets.splice(0).map((f) => f.close())));

    /** Sends `work` to every child, waits until `total` tasks completed, stops them all. */
    async function workOff(f: Fleet, total: number, options: Record<string, unknown>): Promise<void> {
      await Promise.all(f.children.map((c) => c.send({ cmd: 'work', ...options })));
      await until(
        async () => (await f.queue.producer.counts()).completed >= total,
        120_000,
        `${total} completed tasks`,
      );
      await f.stop();
    }

    it('a schedule tick offered by every process at once fires once', async (t) => {
      const f = await fleet();
      const ticks = Array.from({ length: 40 }, (_, i) => Date.UTC(2030, 0, 1) + i * 60_000);
      const at = Date.now() + 300;
      const replies = await Promise.all(
        f.children.map((c) =>
          c.send<{ fired: Array<[number, string]> }>({ cmd: 'fire', key: 'minutely', ticks, at, gapMs: 10 }),
        ),
      );
      const fired = replies.flatMap((r) => r.fired);
      assert.deepEqual(
        fired.map(([tick]) => tick).sort((a, b) => a - b),
        ticks,
        'each tick fired exactly once',
      );
      assert.equal((await f.queue.producer.counts()).queued, ticks.length, 'one task per tick in the store');
      const payloads = await Promise.all(fired.map(async ([, id]) => (await f.queue.producer.get(id))!.payload));
      assert.deepEqual(
        payloads.sort((a, b) => Number(a) - Number(b)),
        ticks,
      );
      // Which process won each tick is up to the race: reported, not asserted.
      t.diagnostic(`fires per process: ${replies.map((r) => r.fired.length).join(', ')}`);
    });

    for (const variant of variants) {
      it(`unique keys raced by every process (${variant.title}) resolve to one task per key`, async () => {
        const f = await fleet();
        const keys = Array.from({ length: variant.keys }, (_, i) => `tenant-${i}`);
        const at = Date.now() + 300;
        const sent = f.children.map((c, p) => variant.tasks(keys, p, c.pid));
        const replies = await Promise.all(
          f.children.map((c, p) => c.send<{ ids: string[] }>({ cmd: 'enqueue', at, one: variant.one, tasks: sent[p] })),
        );
        const idsByKey = new Map<string, Set<string>>();
        sent.forEach((tasks, p) =>
          tasks.forEach(({ uniqueKey }, i) =>
            idsByKey.set(uniqueKey, (idsByKey.get(uniqueKey) ?? new Set()).add(replies[p]!.ids[i]!)),
          ),
        );
        for (const [key, ids] of idsByKey) assert.equal(ids.size, 1, `${key}: one task, got ${[...ids].join(', ')}`);
        assert.equal((await f.queue.producer.counts()).queued, keys.length, 'one task per key in the store');
        const pids = new Set(f.children.map((c) => c.pid));
        for (const [id] of idsByKey.values()) {
          const record = await f.queue.producer.get(id!);
          assert.equal(record!.state, 'queued');
          variant.check(record!.payload, pids);
        }
      });
    }

    it('concurrency permits never let more than K of a key run at once across processes', async (t) => {
      const f = await fleet();
      const K = 2;
      const keys = ['tenant-a', 'tenant-b', 'tenant-c'];
      const total = 90;
      await f.queue.producer.enqueueMany(
        Array.from({ length: total }, (_, n) => ({
          name: 'limited',
          payload: n,
          concurrencyKey: keys[n % keys.length]!,
        })),
      );
      // Many deliveries of one key asking at once in every process: the contention the permits are for.
      await workOff(f, total, { concurrencyPerKey: K, workMs: 30, slots: 8 });
      const most = mostAtOnce(f.lines(), 'start', ['end', 'aborted']);
      for (const key of keys) {
        assert.ok((most.get(key) ?? 0) <= K, `${key}: ${most.get(key)} at once, limit ${K}`);
        assert.ok((most.get(key) ?? 0) >= 1);
      }
      assert.equal(Math.max(...most.values()), K, 'the limit was reached (the test exercised it)');
      assert.equal(f.events('start').length, total, 'each task started once');
      assert.equal(f.events('end').length, total, 'and ran to its end once');
      assert.equal((await f.queue.producer.counts()).completed, total);
      const ran = new Set(f.events('start').map(([, pid]) => pid));
      t.diagnostic(
        `most at once per key: ${JSON.stringify(Object.fromEntries(most))}; processes that ran tasks: ${ran.size}`,
      );
      assert.ok(ran.size >= 2, `the work was shared between processes (${ran.size})`);
    });

    it('a rate limit with a window longer than the test grants exactly max, however the processes race', async (t) => {
      const f = await fleet();
      await f.queue.producer.enqueueMany(Array.from({ length: 30 }, (_, n) => ({ name: 'rated', payload: n })));
      // Denied deliveries come back within 200 ms: the pressure of many asks on a full window.
      await Promise.all(
        f.children.map((c) =>
          c.send({ cmd: 'work', rateLimit: { max: 5, intervalMs: 600_000 }, workMs: 1, slots: 4, maxDelayMs: 200 }),
        ),
      );
      await until(
        async () =>
          f.events('rate').length >= 5 &&
          f.events('denied').length >= 60 &&
          (await f.queue.producer.counts()).completed >= 5,
        120_000,
        'five grants run and 60 denials',
      );
      await f.stop();
      assert.equal(f.events('rate').length, 5, 'five grants in the window, across three processes');
      assert.equal((await f.queue.producer.counts()).completed, 5);
      t.diagnostic(`long window: 5 grants, ${f.events('denied').length} denials`);
    });

    it('a rate limit holds across processes: no max + 1 grants within one interval (store grant times)', async (t) => {
      const f = await fleet();
      const rateLimit = { max: 4, intervalMs: 400 };
      const total = 24;
      await f.queue.producer.enqueueMany(Array.from({ length: total }, (_, n) => ({ name: 'rated', payload: n })));
      await workOff(f, total, { rateLimit, workMs: 1, slots: 4, maxDelayMs: 200 });
      // Each grant happened between its two readings of the store's clock
      // (the same reading twice where the store stamps the grant itself).
      // max + 1 grants must span the interval, so the latest "to" among them
      // minus the earliest "from" is at least the interval: a bound that
      // holds whatever the scheduling delays.
      const grants = f
        .events('rate')
        .map(([, , , from, to]) => ({ from: Number(from), to: Number(to) }))
        .sort((a, b) => a.from - b.from);
      assert.equal(grants.length, total);
      assert.ok(
        grants.every((g) => Number.isFinite(g.from) && Number.isFinite(g.to)),
        'every grant time read back',
      );
      let tightest = Infinity;
      for (let k = 0; k + rateLimit.max < grants.length; k++) {
        const group = grants.slice(k, k + rateLimit.max + 1);
        const span = Math.max(...group.map((g) => g.to)) - group[0]!.from;
        tightest = Math.min(tightest, span);
        assert.ok(span >= rateLimit.intervalMs, `grants ${k}..${k + rateLimit.max} span only ${span} ms`);
      }
      t.diagnostic(`short window: ${total} grants, tightest ${rateLimit.max + 1}-grant span ${tightest.toFixed(0)} ms`);
    });

    it('a cancel in one process aborts the task running in another, or in itself; nothing else, and nobody runs it again', async () => {
      const f = await fleet();
      const { producer } = f.queue;
      await producer.enqueueMany([0, 1, 2].map((n) => ({ name: 'long', payload: n })));
      await Promise.all(f.children.map((c) => c.send({ cmd: 'work', workMs: 120_000, slots: 1 })));
      await until(() => f.events('start').length === 3, 30_000, 'three long tasks to start');
      const holding = (child: number) => f.events('start').find(([, pid]) => pid === f.children[child]!.pid)![2]!;
      assert.equal(new Set(f.events('start').map(([, pid]) => pid)).size, 3, 'each process holds one task');
      const aborted = (id: string) => f.events('aborted').some(([, , i]) => i === id);

      // Process 0 cancels the task process 1 holds: only that one ends.
      assert.deepEqual(await f.children[0]!.send({ cmd: 'cancel', id: holding(1) }), { cancelled: true });
      await until(() => aborted(holding(1)), 30_000, 'the holder to abort the cancelled task');
      assert.equal((await producer.get(holding(1)))!.state, 'cancelled');
      for (const other of [0, 2]) {
        assert.equal((await producer.get(holding(other)))!.state, 'running');
        assert.ok(!aborted(holding(other)), 'nothing else was aborted');
      }
      // A cancel of the task the issuing process holds works the same way.
      assert.deepEqual(await f.children[2]!.send({ cmd: 'cancel', id: holding(2) }), { cancelled: true });
      await until(() => aborted(holding(2)), 30_000, 'the self-held task to abort');
      assert.deepEqual(await f.children[1]!.send({ cmd: 'cancel', id: holding(0) }), { cancelled: true });
      await until(() => aborted(holding(0)), 30_000, 'the last holder to abort');

      for (const child of [0, 1, 2]) {
        const [holderPid, id] = [f.children[child]!.pid, holding(child)];
        assert.ok(
          f.events('notice').some(([, pid, i]) => pid === holderPid && i === id),
          `the holder of ${id} was told`,
        );
        assert.equal((await producer.get(id))!.state, 'cancelled');
      }
      const counts = await producer.counts();
      assert.deepEqual([counts.running, counts.queued, counts.cancelled], [0, 0, 3]);
      await f.stop();
      assert.equal(f.events('start').length, 3, 'no cancelled task started again');
      assert.deepEqual(f.events('warn'), [], 'no process warned (no lost lease, no stale outcome)');
    });
  });
}
