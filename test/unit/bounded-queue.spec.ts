import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedQueue } from '../../lib/pool/bounded.queue.js';

describe('BoundedQueue', () => {
  it('offers up to its capacity, in FIFO order', () => {
    const q = new BoundedQueue<number>(3);
    assert.ok(q.offer(1) && q.offer(2) && q.offer(3));
    assert.equal(q.offer(4), false);
    assert.equal(q.free, 0);
    assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()], [1, 2, 3, undefined]);
  });

  it('parks admitted producers when full and lets them in, in order, as room appears', async () => {
    const q = new BoundedQueue<string>(1);
    await q.admit('a');
    const order: string[] = [];
    const b = q.admit('b').then(() => order.push('b'));
    const c = q.admit('c').then(() => order.push('c'));
    assert.equal(q.parkedCount, 2);
    assert.equal(q.offer('d'), false, 'a newcomer may not jump the parked line');
    assert.equal(q.shift(), 'a');
    q.notifyRoom();
    await b;
    assert.equal(q.length, 1);
    assert.equal(q.shift(), 'b');
    q.notifyRoom();
    await c;
    assert.deepEqual(order, ['b', 'c']);
    assert.ok(q.length <= q.capacity);
  });

  it('drops a parked producer whose signal aborts, rejecting with the reason', async () => {
    const q = new BoundedQueue<number>(1);
    q.offer(1);
    const controller = new AbortController();
    const parked = q.admit(2, controller.signal);
    controller.abort(new Error('caller gave up'));
    await assert.rejects(parked, /caller gave up/);
    assert.equal(q.parkedCount, 0);
  });

  it('puts split batches back at the head and grows past its initial buffer', () => {
    const q = new BoundedQueue<number>(100);
    for (let i = 0; i < 100; i++) q.offer(i);
    q.shift();
    q.shift();
    q.returnToFront([-2, -1]);
    assert.equal(q.length, 100);
    assert.equal(q.shift(), -2);
    assert.equal(q.shift(), -1);
    assert.equal(q.shift(), 2);
  });

  it('removes matching items and hands back parked ones at shutdown', async () => {
    const q = new BoundedQueue<number>(4);
    [1, 2, 3, 4].forEach((n) => q.offer(n));
    const parked = q.admit(5);
    assert.deepEqual(
      q.removeWhere((n) => n % 2 === 0),
      [2, 4],
    );
    assert.deepEqual([q.shift(), q.shift()], [1, 3]);
    assert.deepEqual(
      q.takeParked(() => new Error('shutting down')),
      [5],
    );
    await assert.rejects(parked, /shutting down/);
  });

  it('wakes whenFree() waiters once there is room', async () => {
    const q = new BoundedQueue<number>(1);
    q.offer(1);
    let woke = false;
    const waiting = q.whenFree().then(() => (woke = true));
    await Promise.resolve();
    assert.equal(woke, false);
    q.shift();
    q.notifyRoom();
    await waiting;
    assert.equal(woke, true);
  });
});
