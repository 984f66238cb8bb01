/**
 * Micro-batching keeps every per-task guarantee: when short tasks share a
 * thread message and one of them throws, hangs or kills the thread, only
 * that one fails; the others of its batch are re-run one by one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TaskTimeoutError, WorkerCrashedError } from '../../lib/index.js';
import { bootChaosApp, rejectionOf, type BootedApp } from '../support/app.js';

describe('micro-batching', () => {
  let booted: BootedApp;
  before(async () => {
    booted = await bootChaosApp({ worker: { workers: 2, queueSize: 10_000 } });
    // Let the pool measure the task as short, which is what makes it batchable.
    await Promise.all(Array.from({ length: 200 }, (_, n) => booted.manager.run('maybe', { n })));
  });
  after(() => booted.close());

  async function burstWith(mode: 'exit' | 'spin' | 'throw') {
    const before = booted.manager.stats();
    const culprit = 1234;
    const calls = Array.from({ length: 3000 }, (_, n) =>
      booted.manager.run<number>('maybe', { n, mode: n === culprit ? mode : undefined }),
    );
    const settled = await Promise.allSettled(calls);
    const after = booted.manager.stats();
    return { settled, culprit, batched: after.batched - before.batched, before, after };
  }

  it('batches short tasks when the queue is deep', async () => {
    const before = booted.manager.stats().batched;
    await Promise.all(Array.from({ length: 3000 }, (_, n) => booted.manager.run('maybe', { n })));
    assert.ok(
      booted.manager.stats().batched - before > 1000,
      `${booted.manager.stats().batched - before} of 3000 batched`,
    );
  });

  it('fails only the task that throws; the rest of its batch completes', async () => {
    const { settled, culprit, batched } = await burstWith('throw');
    assert.ok(batched > 0);
    settled.forEach((s, n) => {
      if (n === culprit) assert.equal(s.status === 'rejected' && (s.reason as Error).name, 'RangeError');
      else assert.deepEqual(s, { status: 'fulfilled', value: n });
    });
  });

  it('fails only the task that kills its thread; the rest of its batch is re-run alone', async () => {
    const { settled, culprit, batched } = await burstWith('exit');
    assert.ok(batched > 0);
    settled.forEach((s, n) => {
      if (n === culprit)
        assert.ok(s.status === 'rejected' && s.reason instanceof WorkerCrashedError, JSON.stringify(s));
      else assert.deepEqual(s, { status: 'fulfilled', value: n });
    });
    assert.equal(booted.manager.stats().workers.alive, 2);
  });

  it("enforces each task's own timeout inside a batch: only the hanging task times out", async () => {
    const { settled, culprit } = await burstWith('spin');
    settled.forEach((s, n) => {
      if (n === culprit) assert.ok(s.status === 'rejected' && s.reason instanceof TaskTimeoutError, JSON.stringify(s));
      else assert.deepEqual(s, { status: 'fulfilled', value: n });
    });
    const error = await rejectionOf(booted.manager.run('maybe', { n: 0, mode: 'spin' }));
    assert.match(error.message, /Task "maybe" timed out after 300 ms/);
  });
});
