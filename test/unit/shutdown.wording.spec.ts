/**
 * The words of a shutdown: WorkerShutdownError by stage, what the
 * dispatcher's stop() found (by source, one per map() call), and the log
 * line for durable and in-memory clients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deserializeError, serializeError } from '../../lib/boundary/error.serializer.js';
import { toRejection } from '../../lib/boundary/task.failure.js';
import { Messages } from '../../lib/errors/error-messages.js';
import { WorkerShutdownError } from '../../lib/errors/worker.errors.js';
import { Call, MapChunk, type CallResult, type ChunkResult } from '../../lib/pool/call.record.js';
import { EventSink } from '../../lib/pool/event.sink.js';
import { TaskDispatcher } from '../../lib/pool/task.dispatcher.js';
import { FakePool } from '../support/fake-pool.js';

let seq = 0;
function call(source: 'run' | 'client') {
  let done!: (result: CallResult) => void;
  const result = new Promise<CallResult>((resolve) => (done = resolve));
  const id = `c${++seq}`;
  const c = new Call({ name: 'job', payload: id, id, attempt: 1, timeoutMs: 0, batchable: false, source, done });
  return { call: c, result };
}
function chunk(idPrefix: string, offset: number) {
  let done!: (result: ChunkResult) => void;
  const result = new Promise<ChunkResult>((resolve) => (done = resolve));
  return { chunk: new MapChunk({ name: 'job', items: [1], offset, idPrefix, timeoutMs: 0, done }), result };
}

describe('WorkerShutdownError', () => {
  it('says whether the task had started, and names the deadline', () => {
    const refused = new WorkerShutdownError('resize');
    assert.equal(refused.stage, 'refused');
    assert.equal(refused.code, 'ERR_WORKER_SHUTTING_DOWN');
    assert.equal(
      refused.message,
      'Task "resize" was not started: the worker pool is shutting down and takes no new tasks.',
    );
    assert.equal(
      new WorkerShutdownError('resize', 'unstarted', 5000).message,
      'Task "resize" was not started: it was still queued at the shutdown deadline (shutdownTimeoutMs, 5000 ms).',
    );
    assert.equal(
      new WorkerShutdownError('resize', 'stopped', 5000).message,
      'Task "resize" was stopped at the shutdown deadline (shutdownTimeoutMs, 5000 ms): it was still running, so its worker thread was stopped and the task did not complete.',
    );
    assert.doesNotMatch(new WorkerShutdownError('resize', 'stopped').message, /was not run/);
  });

  it('keeps its stage across a thread boundary', () => {
    const copy = deserializeError(serializeError(new WorkerShutdownError('resize', 'stopped', 10)));
    assert.ok(copy instanceof WorkerShutdownError);
    assert.equal((copy as WorkerShutdownError).stage, 'stopped');
    assert.equal((copy as WorkerShutdownError).shutdownTimeoutMs, 10);
  });
});

describe("The dispatcher's stop()", () => {
  it('counts what was running and what was queued, by source, one per map() call', async () => {
    const pool = new FakePool(4);
    const dispatcher = new TaskDispatcher(
      pool,
      { queueSize: 100, timeoutGraceMs: 0, batching: { enabled: false, maxBatchSize: 1, targetBatchMs: 0 } },
      new EventSink(),
    );
    const runningRun = call('run');
    const runningClient = call('client');
    const runningMap = [chunk('map-a', 0), chunk('map-a', 1)];
    const queuedClient = call('client');
    const queuedRun = call('run');
    const queuedMap = chunk('map-b', 0);
    for (const entry of [runningRun.call, runningClient.call, runningMap[0]!.chunk, runningMap[1]!.chunk])
      dispatcher.offer(entry);
    for (const entry of [queuedClient.call, queuedRun.call, queuedMap.chunk]) dispatcher.offer(entry);
    assert.equal(pool.pending.length, 4);

    assert.deepEqual(dispatcher.stop(2500), {
      stopped: { client: 1, callers: 2 },
      unstarted: { client: 1, callers: 2 },
    });

    const unstarted = await queuedRun.result;
    assert.ok(!unstarted.ok);
    const error = toRejection(unstarted.failure, { taskName: 'job' }) as WorkerShutdownError;
    assert.equal(error.stage, 'unstarted');
    assert.equal(error.shutdownTimeoutMs, 2500);

    for (const run of pool.pending) run.reject(new Error('Terminating worker thread'));
    const stopped = await runningRun.result;
    assert.ok(!stopped.ok);
    assert.equal(stopped.failure.reason, 'shutdown');
    const stoppedError = toRejection(stopped.failure, { taskName: 'job' }) as WorkerShutdownError;
    assert.equal(stoppedError.stage, 'stopped');
    assert.match(stoppedError.message, /was stopped at the shutdown deadline \(shutdownTimeoutMs, 2500 ms\)/);
    const chunkResult = await runningMap[0]!.result;
    assert.ok(!chunkResult.ok);
    assert.equal((toRejection(chunkResult.failure, { taskName: 'job' }) as WorkerShutdownError).stage, 'stopped');
  });
});

describe('The shutdown deadline line', () => {
  it('tells a durable client from the in-memory one, and leaves out what did not happen', () => {
    const none = { client: 0, callers: 0 };
    assert.equal(
      Messages.shutdownDeadline(1000, { client: 2, callers: 0 }, none, false),
      'Shutdown deadline (shutdownTimeoutMs, 1000 ms): stopping 2 task(s) still running, and their worker threads. 2 task(s) from the task client (2 stopped, 0 not started) are released to it unfinished: the task client delivers them again.',
    );
    assert.match(
      Messages.shutdownDeadline(1000, { client: 1, callers: 0 }, none, true),
      /are released to it unfinished: InMemoryTaskClient puts them back in its queue, which is lost when this process exits\.$/,
    );
    assert.equal(
      Messages.shutdownDeadline(1000, { client: 0, callers: 1 }, none, true),
      'Shutdown deadline (shutdownTimeoutMs, 1000 ms): stopping 1 task(s) still running, and their worker threads. 1 run()/map() call(s) fail with WorkerShutdownError.',
    );
  });

  it('says what the in-memory queue loses, with or without tasks handed back', () => {
    assert.equal(
      Messages.inMemoryLostAtExit(5, 0, { unstarted: 0, stopped: 0 }),
      'InMemoryTaskClient: 5 unfinished task(s) stay in its queue and are lost when this process exits: 5 queued, 0 delayed (retries, delayed tasks). Use PostgresTaskClient or RedisTaskClient to keep tasks across restarts.',
    );
  });
});
