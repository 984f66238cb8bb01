import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { InvalidWorkerOptionsError } from '../../lib/errors/worker.errors.js';
import { resolveWorkerOptions } from '../../lib/worker-options.resolver.js';

class TasksModule {}
const tasksModule = { module: TasksModule, file: import.meta.url };

describe('resolveWorkerOptions', () => {
  it('fills in the documented defaults', () => {
    const o = resolveWorkerOptions({ tasksModule });
    assert.equal(o.workers, availableParallelism());
    assert.equal(o.queueSize, 1024);
    assert.equal(o.whenQueueFull, 'wait');
    assert.equal(o.defaultTimeoutMs, 0);
    assert.equal(o.timeoutGraceMs, 100);
    assert.deepEqual(o.retry, {
      maxAttempts: 3,
      backoff: { initialMs: 1000, factor: 2, maxMs: 300_000, jitter: 'full' },
      nonRetryable: [],
    });
    assert.equal(o.shutdownTimeoutMs, 10_000);
    assert.equal(o.startupTimeoutMs, 30_000);
    assert.deepEqual(o.batching, { enabled: true, maxBatchSize: 64, targetBatchMs: 2 });
    assert.deepEqual(o.loop, {
      autoStart: true,
      fetchBatchSize: 256,
      idleMinMs: 5,
      idleMaxMs: 1000,
      publishBatchSize: 500,
      publishIntervalMs: 5,
    });
  });

  const bad: Array<[string, object, RegExp]> = [
    ['no tasks at all', {}, /option "tasksModule" is missing\. Name the module/],
    ['zero workers', { tasksModule, workers: 0 }, /"workers" must be an integer >= 1, got 0/],
    ['fractional queue', { tasksModule, queueSize: 1.5 }, /"queueSize" must be an integer >= 1, got 1\.5/],
    [
      'unknown policy',
      { tasksModule, whenQueueFull: 'drop' },
      /"whenQueueFull" must be one of "wait", "reject", got "drop"/,
    ],
    ['a string timeout', { tasksModule, defaultTimeoutMs: '5s' }, /"defaultTimeoutMs" must be/],
    [
      'a module that is not a class',
      { tasksModule: { module: 'TasksModule', file: import.meta.url } },
      /"tasksModule\.module" must be a Nest module class/,
    ],
    ['no file', { tasksModule: { module: TasksModule } }, /must be a file path or URL/],
    [
      'a bad jitter',
      { tasksModule, retry: { backoff: { jitter: 'some' } } },
      /"retry\.backoff\.jitter" must be "full", "equal" or "none"/,
    ],
    [
      'idle bounds crossed',
      { tasksModule, loop: { idleMinMs: 100, idleMaxMs: 10 } },
      /"loop\.idleMaxMs" \(10\) is below loop\.idleMinMs \(100\)/,
    ],
    [
      'a bad function task option',
      { functions: [{ name: 'f', handler: () => 1, file: import.meta.url, options: { maxAttempts: 0 } }] },
      /"functions\[0\]\.options\.maxAttempts" must be an integer >= 1, got 0/,
    ],
    [
      'a schema on a function task',
      { functions: [{ name: 'f', handler: () => 1, file: import.meta.url, options: { schema: {} } }] },
      /"functions\[0\]\.options\.schema" of task "f" is not supported for function tasks/,
    ],
    [
      'a timeout setTimeout cannot hold',
      { tasksModule, shutdownTimeoutMs: 2 ** 31 },
      /"shutdownTimeoutMs" must be an integer from 0 to 2147483647/,
    ],
    [
      'a function without handler',
      { functions: [{ name: 'f', file: import.meta.url }] },
      /"functions\[0\]\.handler" of task "f" must be a function/,
    ],
  ];
  it('words the README example exactly', () => {
    assert.throws(() => resolveWorkerOptions({ tasksModule, workers: 0 }), {
      message: `WorkerModule option "workers" must be an integer >= 1, got 0. Set "workers" to a whole number of at least 1, or leave it out for the default (${availableParallelism()}).`,
    });
  });

  for (const [what, options, message] of bad) {
    it(`refuses ${what}, naming the option and the fix`, () => {
      assert.throws(
        () => resolveWorkerOptions(options as never),
        (error: unknown) =>
          error instanceof InvalidWorkerOptionsError &&
          error.code === 'ERR_WORKER_INVALID_OPTIONS' &&
          message.test(error.message),
      );
    });
  }
});
