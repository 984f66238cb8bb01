import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryTaskClient } from '../../lib/clients/in-memory.task-client.js';

const err = { name: 'Error', message: 'boom' };

describe('InMemoryTaskClient', () => {
  it('hands out tasks by priority, then in enqueue order', async () => {
    const client = new InMemoryTaskClient();
    const a = client.enqueue('t', 'a');
    const b = client.enqueue('t', 'b', { priority: 5 });
    const c = client.enqueue('t', 'c');
    const got = await client.fetch(10);
    assert.deepEqual(
      got.map((t) => t.id),
      [b, a, c],
    );
    assert.equal(client.get(a)!.state, 'running');
    assert.deepEqual(await client.fetch(10), []);
  });

  it('holds delayed tasks until they are due, and wakes watchers then', async () => {
    const client = new InMemoryTaskClient();
    let woken = 0;
    client.watch(() => woken++);
    const id = client.enqueue('t', null, { delayMs: 60 });
    woken = 0;
    assert.deepEqual(await client.fetch(10), []);
    await new Promise((r) => setTimeout(r, 90));
    assert.ok(woken >= 1);
    assert.deepEqual(
      (await client.fetch(10)).map((t) => t.id),
      [id],
    );
  });

  it('applies outcomes: completed, retry (delayed, next attempt), failed with every error, released', async () => {
    const client = new InMemoryTaskClient();
    const [done, retried, failed, released] = client.enqueueMany(
      ['d', 'r', 'f', 'x'].map((payload) => ({ name: 't', payload })),
    );
    const tasks = await client.fetch(10);
    const task = (id: string) => tasks.find((t) => t.id === id)!;
    await client.publish([
      { status: 'completed', task: task(done!), result: 42, durationMs: 1 },
      {
        status: 'retry',
        task: task(retried!),
        reason: 'error',
        error: err,
        nextAttempt: 2,
        delayMs: 10_000,
        runAt: Date.now() + 10_000,
      },
      { status: 'failed', task: task(failed!), reason: 'timeout', error: err },
      { status: 'released', task: task(released!) },
    ]);
    assert.equal(client.get(done!)!.result, 42);
    assert.equal(client.get(retried!)!.state, 'delayed');
    assert.equal(client.get(retried!)!.attempt, 2);
    assert.equal(client.get(failed!)!.failureReason, 'timeout');
    assert.deepEqual(client.get(failed!)!.errors, [err]);
    assert.equal(client.get(released!)!.state, 'queued');
    assert.deepEqual(client.counts(), { queued: 1, delayed: 1, running: 0, completed: 1, failed: 1, cancelled: 0 });
    assert.equal((await client.waitFor(done!)).state, 'completed');
  });

  it('ignores a stale outcome for an attempt that is no longer running', async () => {
    const client = new InMemoryTaskClient();
    const id = client.enqueue('t', null);
    const [task] = await client.fetch(1);
    await client.publish([{ status: 'completed', task: task!, result: 1, durationMs: 1 }]);
    await client.publish([{ status: 'failed', task: task!, reason: 'error', error: err }]);
    assert.equal(client.get(id)!.state, 'completed');
  });

  it('forgets the oldest finished tasks past maxFinished', async () => {
    const client = new InMemoryTaskClient({ maxFinished: 2 });
    const ids = client.enqueueMany([1, 2, 3].map((payload) => ({ name: 't', payload })));
    const tasks = await client.fetch(10);
    await client.publish(tasks.map((task) => ({ status: 'completed' as const, task, result: null, durationMs: 0 })));
    assert.equal(client.get(ids[0]!), undefined);
    assert.ok(client.get(ids[2]!));
    await assert.rejects(client.waitFor(ids[0]!), /Unknown task id/);
  });

  it('refuses a bad name and a duplicate id with a clear message', () => {
    const client = new InMemoryTaskClient();
    assert.throws(() => client.enqueue('', null), /task name must be a non-empty string/);
    client.enqueue('t', null, { id: 'same' });
    assert.throws(() => client.enqueue('t', null, { id: 'same' }), /a task with id "same" already exists/);
  });

  it('checks enqueue options as the durable clients do, and adds nothing from a batch with a bad task', () => {
    const client = new InMemoryTaskClient();
    assert.throws(
      () => client.enqueue('resize', null, { priority: 1.5 }),
      /^TypeError: InMemoryTaskClient\.enqueue\(\): task "resize": "priority" must be an integer/,
    );
    assert.throws(
      () => client.enqueue('resize', null, { delayMs: -5 }),
      /"delayMs" must be a number of milliseconds >= 0/,
    );
    assert.throws(
      () =>
        client.enqueueMany([
          { name: 'ok', payload: 1 },
          { name: 'bad', payload: 2, maxAttempts: 0 },
        ]),
      /tasks\[1\]: task "bad": "maxAttempts" must be a whole number/,
    );
    assert.throws(
      () =>
        client.enqueueMany([
          { name: 'ok', payload: 1, id: 'twice' },
          { name: 'ok', payload: 2, id: 'twice' },
        ]),
      /a task with id "twice" already exists/,
    );
    assert.deepEqual(client.counts(), { queued: 0, delayed: 0, running: 0, completed: 0, failed: 0, cancelled: 0 });
  });

  it('holds a task delayed past 2^31 ms without waking its watchers in a busy loop', async () => {
    const client = new InMemoryTaskClient();
    let woken = 0;
    client.watch(() => woken++);
    // Node runs a setTimeout longer than 2^31 - 1 ms after 1 ms.
    const id = client.enqueue('t', null, { delayMs: 2 ** 31 + 60_000 });
    woken = 0;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(woken, 0, 'no wake-up before the task is due');
    assert.equal(client.get(id)!.state, 'delayed');
    assert.deepEqual(await client.fetch(10), []);
  });
});
