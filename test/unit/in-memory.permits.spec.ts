import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryTaskClient } from '../../lib/index.js';

describe('InMemoryTaskClient permits', () => {
  it('a freed permit wakes the oldest delivery waiting for its key at once, not after its delay', async () => {
    const client = new InMemoryTaskClient();
    const [holderId, firstId, secondId] = client.enqueueMany(
      ['holder', 'first', 'second'].map((payload) => ({ name: 'keyed', payload, concurrencyKey: 'k' })),
    );
    const [holder, first, second] = await client.fetch(3);
    assert.deepEqual([holder!.id, first!.id, second!.id], [holderId, firstId, secondId]);
    const answers = await client.acquirePermits(
      [holder!, first!, second!].map((task) => ({ task, concurrencyPerKey: 1 })),
    );
    assert.deepEqual(
      answers.map((a) => a.granted),
      [true, false, false],
    );
    // The denied ones go back with a long delay, as the loop's gate gives them back.
    await client.publish([
      { status: 'released', task: first!, delayMs: 3_600_000 },
      { status: 'released', task: second!, delayMs: 3_600_000 },
    ]);
    assert.equal(client.counts().delayed, 2);
    await client.publish([{ status: 'completed', task: holder!, result: null, durationMs: 1 }]);
    assert.deepEqual(client.counts(), { queued: 1, delayed: 1, running: 0, completed: 1, failed: 0, cancelled: 0 });
    const [woken] = await client.fetch(10);
    assert.equal(woken!.id, firstId, 'the oldest waiter');
    assert.equal(woken!.attempt, 1);
    assert.equal((await client.acquirePermits([{ task: woken!, concurrencyPerKey: 1 }]))[0]!.granted, true);
  });

  it('a wake skips waiters that no longer wait (cancelled, or still on their way back)', async () => {
    const client = new InMemoryTaskClient();
    client.enqueueMany(
      ['holder', 'cancelled', 'in flight'].map((payload) => ({ name: 'keyed', payload, concurrencyKey: 'k' })),
    );
    const [holder, cancelled, inFlight] = await client.fetch(3);
    await client.acquirePermits([holder!, cancelled!, inFlight!].map((task) => ({ task, concurrencyPerKey: 1 })));
    await client.publish([{ status: 'released', task: cancelled!, delayMs: 3_600_000 }]);
    client.cancel(cancelled!.id);
    // `inFlight` is still held: its release has not been published yet.
    await client.publish([{ status: 'completed', task: holder!, result: null, durationMs: 1 }]);
    assert.equal(client.counts().queued, 0);
    await client.publish([{ status: 'released', task: inFlight!, delayMs: 3_600_000 }]);
    assert.equal(client.counts().delayed, 1, 'it waits out its delay: the fallback');
  });
});
