/**
 * WorkerManager used before `app.init()`: the methods that return a promise
 * reject (a caller's `.catch()` sees it, as it sees any failed call); the
 * others throw. Either way with WorkerNotStartedError naming the method.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkerManager, WorkerNotStartedError } from '../../lib/index.js';
import { EventSink } from '../../lib/pool/event.sink.js';
import type { WorkerOrchestrator } from '../../lib/worker.orchestrator.js';

const manager = () => new WorkerManager({ engine: undefined, sink: new EventSink() } as unknown as WorkerOrchestrator);

function notStarted(method: string) {
  return (error: unknown) => {
    assert.ok(error instanceof WorkerNotStartedError, String(error));
    assert.equal(error.code, 'ERR_WORKER_NOT_STARTED');
    assert.ok(error.message.includes(`WorkerManager.${method}()`), error.message);
    return true;
  };
}

describe('WorkerManager before app.init()', () => {
  it('run(), map() and cancel() return a rejected promise instead of throwing', async () => {
    const workers = manager();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['run', () => workers.run('resize', { w: 1 })],
      ['map', () => workers.map('resize', [1, 2])],
      ['cancel', () => workers.cancel('task-1')],
    ];
    for (const [method, call] of calls) {
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => (promise = call()), `${method}() threw synchronously`);
      await assert.rejects(promise!, notStarted(method));
    }
  });

  it('stats(), tasks() and pause() throw', () => {
    const workers = manager();
    assert.throws(() => workers.stats(), notStarted('stats'));
    assert.throws(() => workers.tasks(), notStarted('tasks'));
    assert.throws(() => workers.pause(), notStarted('pause'));
  });
});
