/**
 * The dispatcher against a pool without threads: every dispatch waits until
 * the spec answers it, kills it or lets the dispatcher abort it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeError } from '../../lib/boundary/error.serializer.js';
import { toRejection, type TaskFailure } from '../../lib/boundary/task.failure.js';
import {
  NotCloneableError,
  TaskAbortedError,
  TaskTimeoutError,
  WorkerCrashedError,
  WorkerShutdownError,
} from '../../lib/errors/worker.errors.js';
import type { WorkerEvent } from '../../lib/interfaces/worker-event.interface.js';
import { Call, type CallInit, type CallResult } from '../../lib/pool/call.record.js';
import { EventSink } from '../../lib/pool/event.sink.js';
import { runMap } from '../../lib/pool/map.runner.js';
import { TaskDispatcher } from '../../lib/pool/task.dispatcher.js';
import { FakePool, type FakeRun } from '../support/fake-pool.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(
  options: { threads?: number; queueSize?: number; batching?: boolean; maxBatchSize?: number; graceMs?: number } = {},
) {
  const pool = new FakePool(options.threads ?? 2);
  const sink = new EventSink();
  const events: WorkerEvent[] = [];
  sink.subject.subscribe((e) => events.push(e));
  const dispatcher = new TaskDispatcher(
    pool,
    {
      queueSize: options.queueSize ?? 100,
      timeoutGraceMs: options.graceMs ?? 0,
      batching: { enabled: options.batching ?? true, maxBatchSize: options.maxBatchSize ?? 64, targetBatchMs: 2 },
    },
    sink,
  );
  return { pool, dispatcher, events };
}

let seq = 0;

/** A call and the promise of its one result. */
function call(
  name: string,
  payload: unknown,
  init: Partial<CallInit> = {},
): { call: Call; result: Promise<CallResult> } {
  let done!: (result: CallResult) => void;
  const result = new Promise<CallResult>((resolve) => (done = resolve));
  const c = new Call({
    name,
    payload,
    id: `c${++seq}`,
    attempt: 1,
    timeoutMs: 0,
    batchable: true,
    source: 'run',
    done,
    ...init,
  });
  return { call: c, result };
}

function failureOf(result: CallResult): TaskFailure {
  assert.ok(!result.ok, `expected a failure, got ${JSON.stringify(result)}`);
  return result.failure;
}

/** Answers every pending dispatch by echoing payloads, until nothing is pending. */
async function drain(pool: FakePool, ms?: number): Promise<void> {
  await tick();
  while (pool.pending.length > 0) {
    for (const run of pool.pending) run.echo(ms);
    await tick();
  }
}

/** Makes `name` measured as short (0.1 ms), which is what makes it batchable. */
async function measure(pool: FakePool, dispatcher: TaskDispatcher, name: string): Promise<void> {
  const first = call(name, 0);
  dispatcher.offer(first.call);
  await drain(pool);
  await first.result;
}

describe('TaskDispatcher: room and backpressure', () => {
  it('never has more dispatches in flight than threads, and never queues past queueSize', async () => {
    const { pool, dispatcher } = setup({ threads: 1, queueSize: 2, batching: false });
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => call('t', n));
    assert.equal(dispatcher.freeRoom, 2);
    assert.ok(dispatcher.offer(a!.call));
    assert.ok(dispatcher.offer(b!.call));
    assert.ok(dispatcher.offer(c!.call));
    assert.equal(pool.pending.length, 1, 'one thread, one dispatch');
    assert.equal(dispatcher.snapshot().queued, 2);
    assert.equal(dispatcher.freeRoom, 0);
    assert.equal(dispatcher.offer(d!.call), false, 'a full queue refuses');

    let admitted = false;
    const parked = call('t', 5);
    const admit = dispatcher.admit(parked.call).then(() => (admitted = true));
    let roomAppeared = false;
    void dispatcher.whenRoom().then(() => (roomAppeared = true));
    await tick();
    assert.equal(admitted, false);
    assert.equal(dispatcher.snapshot().waiting, 1);

    pool.pending[0]!.echo();
    await admit;
    assert.equal(dispatcher.snapshot().queued, 2, 'the parked call took the freed place');
    assert.equal(roomAppeared, false, 'the parked call came first');
    pool.pending[0]!.echo();
    await tick();
    assert.equal(roomAppeared, true);
    await drain(pool);
    assert.deepEqual(
      await Promise.all([a, b, c, parked].map(async (x) => ((await x!.result) as { value: unknown }).value)),
      [1, 2, 3, 5],
    );
    assert.ok(pool.runs.every((r) => r.calls.length === 1));
  });

  it('admitNow() queues past capacity; takeQueued() hands queued entries back and frees their room', async () => {
    const { pool, dispatcher } = setup({ threads: 1, queueSize: 1, batching: false });
    const running = call('t', 0);
    const queued = call('t', 1);
    const extra = call('t', 2, { source: 'client' });
    dispatcher.offer(running.call);
    dispatcher.offer(queued.call);
    dispatcher.admitNow(extra.call);
    assert.equal(dispatcher.snapshot().queued, 2);
    const taken = dispatcher.takeQueued((e) => e instanceof Call && e.source === 'client');
    assert.deepEqual(taken, [extra.call]);
    assert.equal(dispatcher.snapshot().queued, 1);
    await drain(pool);
    assert.ok((await queued.result).ok);
  });

  it('whenIdle() resolves true once nothing is queued or running, false at its deadline', async () => {
    const { pool, dispatcher } = setup();
    assert.equal(await dispatcher.whenIdle(Date.now()), true);
    dispatcher.offer(call('t', 1).call);
    assert.equal(await dispatcher.whenIdle(Date.now() + 10), false);
    const idle = dispatcher.whenIdle(Date.now() + 60_000);
    await drain(pool);
    assert.equal(await idle, true);
  });
});

describe('TaskDispatcher: batching', () => {
  it('sends measured short calls together while work waits for threads, and counts them', async () => {
    const { pool, dispatcher, events } = setup({ threads: 2 });
    await measure(pool, dispatcher, 'short');
    const calls = Array.from({ length: 40 }, (_, n) => call('short', n));
    for (const c of calls) dispatcher.offer(c.call);
    assert.equal(pool.pending.length, 2, 'with idle threads, the first calls go alone');
    assert.ok(pool.pending.every((r) => r.calls.length === 1));
    await drain(pool);
    const values = await Promise.all(calls.map(async (c) => ((await c.result) as { value: unknown }).value));
    assert.deepEqual(
      values,
      calls.map((_, n) => n),
    );
    const batches = pool.runs.filter((r) => r.calls.length > 1);
    assert.ok(batches.length > 0, 'some calls shared a message');
    assert.ok(
      batches.every((r) => r.calls.length <= 20),
      'the backlog is spread over the threads',
    );
    const batched = batches.reduce((sum, r) => sum + r.calls.length, 0);
    assert.equal(dispatcher.snapshot().batched, batched);
    assert.equal(dispatcher.snapshot().completed, 41);
    assert.equal(events.filter((e) => e.type === 'task.completed').length, 41);
  });

  it('keeps apart what must travel alone: unmeasured, batch: false, a signal, a transfer list', async () => {
    const { pool, dispatcher } = setup({ threads: 1 });
    await measure(pool, dispatcher, 'short');
    const blocker = call('short', 'blocker');
    dispatcher.offer(blocker.call);
    const alone = [
      call('unmeasured', 1),
      call('short', 2, { batchable: false }),
      call('short', 3, { signal: new AbortController().signal }),
      call('short', 4, { transfer: [new ArrayBuffer(8)] }),
    ];
    for (const c of alone) dispatcher.offer(c.call);
    await drain(pool);
    assert.ok(pool.runs.every((r) => r.calls.length === 1));
    const sent = pool.runs.find((r) => r.calls[0]!.payload === 4)!;
    assert.equal(sent.transfer?.length, 1);
  });

  it('respects maxBatchSize', async () => {
    const { pool, dispatcher } = setup({ threads: 1, maxBatchSize: 3 });
    await measure(pool, dispatcher, 'short');
    for (let n = 0; n < 20; n++) dispatcher.offer(call('short', n).call);
    await drain(pool);
    assert.ok(pool.runs.some((r) => r.calls.length === 3));
    assert.ok(pool.runs.every((r) => r.calls.length <= 3));
  });
});

describe('TaskDispatcher: failures', () => {
  it('passes a failure reported by the thread through as the same value', async () => {
    const { pool, dispatcher } = setup();
    const c = call('t', 1);
    dispatcher.offer(c.call);
    const thrown = serializeError(Object.assign(new RangeError('too far'), { distance: 3 }));
    pool.pending[0]!.reply([{ failure: { reason: 'error', error: thrown } }]);
    const failure = failureOf(await c.result);
    assert.deepEqual(failure, { reason: 'error', error: thrown });
    const error = toRejection(failure, { taskName: 't', taskId: c.call.id });
    assert.ok(error instanceof RangeError);
    assert.equal((error as RangeError & { distance: number }).distance, 3);
    assert.equal((error as Error & { taskId: string }).taskId, c.call.id);
    assert.ok(!Object.keys(error).includes('taskId'), 'marks are not enumerable');
    assert.equal(dispatcher.snapshot().failed, 1);
    assert.equal(pool.replies.length, 1, 'the pool saw the reply');
  });

  it("enforces each call's own timeout inside a batch: the culprit times out, the rest run again alone", async () => {
    const { pool, dispatcher, events } = setup({ threads: 1 });
    await measure(pool, dispatcher, 'short');
    const first = call('short', 'first', { timeoutMs: 10_000 });
    dispatcher.offer(first.call);
    const batch = Array.from({ length: 5 }, (_, n) => call('short', n, { timeoutMs: n === 2 ? 20 : 10_000 }));
    for (const c of batch) dispatcher.offer(c.call);
    pool.pending[0]!.echo();
    await tick();
    const sent = pool.pending[0]!;
    assert.equal(sent.calls.length, 5, 'the five went together');
    assert.ok(sent.request.pr, 'a timed dispatch has progress cells');
    sent.start(0);
    sent.start(1);
    sent.start(2);
    const culprit = failureOf(await batch[2]!.result);
    assert.equal(culprit.reason, 'timeout');
    const error = toRejection(culprit, { taskName: 'short' });
    assert.ok(error instanceof TaskTimeoutError);
    assert.match(error.message, /Task "short" timed out after 20 ms/);
    assert.ok(sent.signal?.aborted, 'the thread was stopped');
    await drain(pool);
    for (const n of [0, 1, 3, 4]) assert.deepEqual(await batch[n]!.result.then((r) => r.ok), true);
    const rerun = pool.runs.slice(pool.runs.indexOf(sent) + 1);
    assert.equal(rerun.length, 4);
    assert.ok(
      rerun.every((r) => r.calls.length === 1),
      'split up',
    );
    assert.equal(dispatcher.snapshot().timedOut, 1);
    const timedOut = events.filter((e) => e.type === 'task.timed-out');
    assert.deepEqual(
      timedOut.map((e) => 'taskId' in e && e.taskId),
      [batch[2]!.call.id],
    );
  });

  it('does not time out a call that has not started: its clock starts when it does', async () => {
    const { pool, dispatcher } = setup({ threads: 1 });
    const c = call('t', 1, { timeoutMs: 5 });
    dispatcher.offer(c.call);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(pool.pending.length, 1, 'still waiting for its thread');
    pool.pending[0]!.start(0);
    assert.equal(failureOf(await c.result).reason, 'timeout');
  });

  it('splits a batch whose thread dies; only the call that kills it again fails, as a crash', async () => {
    const { pool, dispatcher, events } = setup({ threads: 1 });
    await measure(pool, dispatcher, 'short');
    dispatcher.offer(call('short', 'first').call);
    const batch = Array.from({ length: 4 }, (_, n) => call('short', n));
    for (const c of batch) dispatcher.offer(c.call);
    pool.pending[0]!.echo();
    await tick();
    const exit = new Error('worker exited with code: 3');
    pool.pending[0]!.reject(exit);
    await tick();
    while (pool.pending.length > 0) {
      const run = pool.pending[0]!;
      assert.equal(run.calls.length, 1);
      if (run.calls[0]!.payload === 1) run.reject(exit);
      else run.echo();
      await tick();
    }
    const crashed = failureOf(await batch[1]!.result);
    assert.equal(crashed.reason, 'crash');
    const error = toRejection(crashed, { taskName: 'short' });
    assert.ok(error instanceof WorkerCrashedError);
    assert.match(error.message, /lost its worker thread \(the thread exited with code 3/);
    for (const n of [0, 2, 3]) assert.ok((await batch[n]!.result).ok);
    assert.equal(dispatcher.snapshot().crashed, 1);
    assert.ok(events.some((e) => e.type === 'worker.crashed' && e.taskId === batch[1]!.call.id));
  });

  it('names the part of a payload that cannot be cloned', async () => {
    const { pool, dispatcher } = setup();
    const c = call('echo', { user: { save: function save() {} } });
    dispatcher.offer(c.call);
    pool.pending[0]!.reject(new DOMException('could not be cloned', 'DataCloneError'));
    const failure = failureOf(await c.result);
    assert.equal(failure.reason, 'invalid-payload');
    const error = toRejection(failure, { taskName: 'echo' });
    assert.ok(error instanceof NotCloneableError);
    assert.match(error.message, /payload\.user\.save is a function \(save\)/);
  });
});

describe('TaskDispatcher: aborts and shutdown', () => {
  it('drops a queued call whose signal aborted, without sending it', async () => {
    const { pool, dispatcher } = setup({ threads: 1 });
    dispatcher.offer(call('t', 'running').call);
    const controller = new AbortController();
    const c = call('t', 'queued', { signal: controller.signal });
    dispatcher.offer(c.call);
    controller.abort(new Error('user went away'));
    pool.pending[0]!.echo();
    const failure = failureOf(await c.result);
    assert.equal(failure.reason, 'aborted');
    const error = toRejection(failure, { taskName: 't' });
    assert.ok(error instanceof TaskAbortedError);
    assert.equal((error.cause as Error).message, 'user went away');
    assert.equal(pool.runs.length, 1, 'never sent');
  });

  it('stops the thread of a running call whose signal aborts', async () => {
    const { pool, dispatcher } = setup();
    const controller = new AbortController();
    const c = call('t', 1, { signal: controller.signal });
    dispatcher.offer(c.call);
    const run: FakeRun = pool.pending[0]!;
    controller.abort(new Error('user went away'));
    assert.ok(run.signal?.aborted);
    const failure = failureOf(await c.result);
    assert.equal(failure.reason, 'aborted');
    assert.ok(toRejection(failure, { taskName: 't' }) instanceof TaskAbortedError);
  });

  it('stop() fails what is queued and parked now, and what runs once its thread is stopped', async () => {
    const { pool, dispatcher } = setup({ threads: 2, queueSize: 1, batching: false });
    const untimed = call('t', 'untimed');
    const timed = call('t', 'timed', { timeoutMs: 60_000 });
    const queued = call('t', 'queued');
    const parked = call('t', 'parked');
    dispatcher.offer(untimed.call);
    dispatcher.offer(timed.call);
    dispatcher.offer(queued.call);
    const admit = dispatcher.admit(parked.call).then(
      () => 'admitted',
      (error: unknown) => error,
    );
    dispatcher.stop();
    for (const c of [queued, parked]) {
      const failure = failureOf(await c.result);
      assert.equal(failure.reason, 'shutdown');
      assert.ok(toRejection(failure, { taskName: 't' }) instanceof WorkerShutdownError);
    }
    assert.ok((await admit) instanceof WorkerShutdownError);
    const timedRun = pool.runs.find((r) => r.calls[0]!.payload === 'timed')!;
    assert.ok(timedRun.signal?.aborted, 'a dispatch that can be stopped is stopped at once');
    assert.equal(failureOf(await timed.result).reason, 'shutdown');
    // The rest end when the pool stops its threads.
    pool.pending[0]!.reject(new Error('Terminating worker thread'));
    assert.equal(failureOf(await untimed.result).reason, 'shutdown');
    assert.equal(await dispatcher.whenIdle(Date.now() + 1000), true);
    assert.equal(pool.runs.length, 2);
  });
});

describe('runMap over the dispatcher', () => {
  it('sends chunks, returns results in item order, and names the failing item', async () => {
    const { pool, dispatcher } = setup({ threads: 2 });
    const items = Array.from({ length: 10 }, (_, n) => n);
    const squares = runMap<number>(dispatcher, {
      name: 'square',
      items,
      timeoutMs: 0,
      threads: 2,
      options: { chunkSize: 4 },
      onFail: () => assert.fail('nothing fails'),
    });
    await tick();
    while (pool.pending.length > 0) {
      for (const run of pool.pending) run.reply(run.calls.map((c) => ({ value: (c.payload as number) ** 2 })));
      await tick();
    }
    assert.deepEqual(
      await squares,
      items.map((n) => n * n),
    );
    assert.deepEqual(
      pool.runs.map((r) => r.calls.length),
      [4, 4, 2],
    );

    const typed = runMap<number>(dispatcher, {
      name: 'square',
      items: new Float64Array([1, 2, 3]),
      timeoutMs: 0,
      threads: 2,
      options: { chunkSize: 3 },
      onFail: () => assert.fail('nothing fails'),
    });
    await tick();
    const sent = pool.pending[0]!;
    assert.equal(sent.transfer?.length, 1, 'a typed array is transferred, not cloned');
    sent.reply(sent.calls.map((c) => ({ value: (c.payload as number) ** 2 })));
    assert.deepEqual(await typed, [1, 4, 9]);
    assert.equal(dispatcher.snapshot().running, 0, 'counted by what was sent, not by the emptied buffer');

    const failures: Array<[TaskFailure, string]> = [];
    const failing = runMap(dispatcher, {
      name: 'square',
      items,
      timeoutMs: 0,
      threads: 2,
      options: { chunkSize: 4 },
      onFail: (failure, taskId) => failures.push([failure, taskId]),
    }).then(
      () => assert.fail('the map should fail'),
      (error: unknown) => error as Error & { itemIndex: number; taskName: string },
    );
    await tick();
    const second = pool.pending.find((r) => r.calls[0]!.payload === 4)!;
    second.reply([{ value: 16 }, { failure: { reason: 'error', error: serializeError(new TypeError('odd')) } }]);
    const error = await failing;
    assert.ok(error instanceof TypeError);
    assert.equal(error.itemIndex, 5);
    assert.equal(error.taskName, 'square');
    assert.equal(failures.length, 1);
    assert.match(failures[0]![1], /^map-\w+:5$/);
    await drain(pool);
  });

  it('stops the running chunks of an aborted map() and takes back its queued ones', async () => {
    const { pool, dispatcher } = setup({ threads: 1 });
    const controller = new AbortController();
    const mapped = runMap(dispatcher, {
      name: 'square',
      items: [1, 2, 3],
      timeoutMs: 0,
      threads: 1,
      options: { chunkSize: 1, signal: controller.signal },
      onFail: () => undefined,
    }).then(
      () => assert.fail('the map should fail'),
      (error: unknown) => error as Error,
    );
    await tick();
    const running = pool.pending[0]!;
    controller.abort(new Error('enough'));
    const error = await mapped;
    assert.ok(error instanceof TaskAbortedError);
    assert.equal((error.cause as Error).message, 'enough');
    assert.ok(running.signal?.aborted, 'its thread was stopped');
    assert.equal(await dispatcher.whenIdle(Date.now() + 1000), true);
    assert.equal(pool.runs.length, 1, 'the queued chunks were never sent');
  });
});
