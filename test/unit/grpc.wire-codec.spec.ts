/**
 * The gRPC wire codec, each way, for what job control added: a cancelled
 * outcome stays cancelled (it used to travel as released, which requeued a
 * cancelled task), released keeps its delay, a delivery keeps its
 * concurrency key and trace context, registrations keep their limits, and
 * enqueue options keep their keys.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskEnvelope, TaskOutcome } from '../../lib/interfaces/task-client.interface.js';
import {
  deliveryFromServer,
  deliveryFromWorker,
  deliveryRef,
  deliveryToWire,
  enqueueFromWire,
  outcomeFromWire,
  outcomeToWire,
  permitAnswerFromWire,
  permitAnswerToWire,
  permitRequestFromWire,
  permitRequestToWire,
  registeredFromWire,
  registeredToWire,
} from '../../lib/grpc/wire.codec.js';

const stored: TaskEnvelope = {
  id: 't1',
  name: 'report',
  payload: { n: 1 },
  attempt: 2,
  enqueuedAt: 1_700_000_000_000,
  concurrencyKey: 'tenant-7',
  traceContext: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  receipt: { token: 'lease-1' },
};

/** The store's envelope after the trip server → worker → server. */
const roundTrip = (task: TaskEnvelope): TaskEnvelope => {
  const atWorker = deliveryFromServer(deliveryToWire(task, JSON.stringify(task.payload)));
  return deliveryFromWorker(deliveryRef(atWorker));
};

const noWarning = (message: string) => assert.fail(`unexpected warning: ${message}`);

describe('gRPC wire codec: job control', () => {
  it('a delivery reaches the worker with its concurrency key and trace context, and comes back with its key', () => {
    const atWorker = deliveryFromServer(deliveryToWire(stored, JSON.stringify(stored.payload)));
    assert.equal(atWorker.concurrencyKey, 'tenant-7');
    assert.equal(atWorker.traceContext, stored.traceContext);
    const back = deliveryFromWorker(deliveryRef(atWorker));
    assert.equal(back.concurrencyKey, 'tenant-7', 'the store sees the key in permit requests and outcomes');
    assert.deepEqual(back.receipt, stored.receipt);
    const plain = deliveryFromServer(deliveryToWire({ id: 'p', name: 'n', payload: null, attempt: 1 }, 'null'));
    assert.equal('concurrencyKey' in plain, false);
    assert.equal('traceContext' in plain, false);
  });

  it('a cancelled outcome is cancelled on the other side, with started; released keeps its delay', () => {
    const outcomes: TaskOutcome[] = [
      { status: 'cancelled', task: stored, started: true },
      { status: 'cancelled', task: stored, started: false },
      { status: 'released', task: stored, delayMs: 1500 },
      { status: 'released', task: stored },
    ];
    const atWorker = deliveryFromServer(deliveryToWire(stored, '{}'));
    const decoded = outcomes.map((outcome) => {
      const wire = outcomeToWire({ ...outcome, task: atWorker }, noWarning);
      return outcomeFromWire(wire, deliveryFromWorker(wire.task));
    });
    assert.deepEqual(
      decoded.map((o) => o && { status: o.status, started: 'started' in o ? o.started : undefined }),
      [
        { status: 'cancelled', started: true },
        { status: 'cancelled', started: false },
        { status: 'released', started: undefined },
        { status: 'released', started: undefined },
      ],
    );
    assert.equal(decoded[2]!.status === 'released' && decoded[2]!.delayMs, 1500);
    assert.equal(decoded[3]!.status === 'released' && 'delayMs' in decoded[3]!, false);
  });

  it('permit requests and answers keep their limits and order', () => {
    const task = roundTrip(stored);
    const request = { task, rateLimit: { max: 5, intervalMs: 1000 }, concurrencyPerKey: 2 };
    const back = permitRequestFromWire(permitRequestToWire(request));
    assert.deepEqual(back.rateLimit, request.rateLimit);
    assert.equal(back.concurrencyPerKey, 2);
    assert.equal(back.task.concurrencyKey, 'tenant-7');
    const bare = permitRequestFromWire(permitRequestToWire({ task }));
    assert.equal('rateLimit' in bare || 'concurrencyPerKey' in bare, false);
    assert.deepEqual(
      [{ granted: true } as const, { granted: false, retryAfterMs: 250 } as const].map((a) =>
        permitAnswerFromWire(permitAnswerToWire(a)),
      ),
      [{ granted: true }, { granted: false, retryAfterMs: 250 }],
    );
  });

  it('registrations keep their rate limit and concurrency per key', () => {
    const tasks = [
      { name: 'a', maxAttempts: 3, rateLimit: { max: 10, intervalMs: 60_000 }, concurrencyPerKey: 1 },
      { name: 'b', maxAttempts: 1 },
    ];
    assert.deepEqual(registeredFromWire(registeredToWire(tasks)), tasks);
  });

  it('enqueue options keep their unique key, duplicate policy and concurrency key; empty means none', () => {
    const base = { name: 'x', payload: Buffer.from('1'), id: '', delay_ms: 0, priority: 0, max_attempts: 0 };
    assert.deepEqual(enqueueFromWire({ ...base, unique_key: 'u', on_duplicate: 'replace', concurrency_key: 'k' }), {
      name: 'x',
      payload: 1,
      uniqueKey: 'u',
      onDuplicate: 'replace',
      concurrencyKey: 'k',
    });
    assert.deepEqual(enqueueFromWire({ ...base, unique_key: '', on_duplicate: '', concurrency_key: '' }), {
      name: 'x',
      payload: 1,
    });
  });
});
