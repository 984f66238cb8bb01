import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import {
  NotCloneableError,
  QueueFullError,
  TaskAbortedError,
  TaskTimeoutError,
  UnknownTaskError,
  WorkerCrashedError,
  WorkerError,
  type WorkerEvent,
} from '../../lib/index.js';
import { PaymentDeclinedError } from '../fixtures/chaos.tasks.js';
import { bootChaosApp, rejectionOf, sleep, type BootedApp } from '../support/app.js';

describe('WorkerModule: tasks run in worker threads with DI', () => {
  let booted: BootedApp;
  before(async () => {
    booted = await bootChaosApp({ worker: { workers: 2, resourceLimits: { maxOldGenerationSizeMb: 48 } } });
  });
  after(() => booted.close());

  it('runs a @Task method whose provider gets its dependencies injected in the thread', async () => {
    assert.equal(await booted.manager.run('add', { a: 2, b: 3 }), 5);
  });

  it('runs it in another thread, with a context carrying id, name, attempt and an AbortSignal', async () => {
    const who = await booted.manager.run<Record<string, unknown>>('whoami');
    assert.notEqual(who.threadId, threadId);
    assert.equal(who.ctxThreadId, who.threadId);
    assert.equal(who.name, 'whoami');
    assert.equal(who.attempt, 1);
    assert.equal(typeof who.id, 'string');
    assert.equal(who.hasSignal, true);
  });

  it('rejects an unknown task name with a typed error listing the known ones', async () => {
    const error = await rejectionOf(booted.manager.run('nope'));
    assert.ok(error instanceof UnknownTaskError);
    assert.equal(error.code, 'ERR_WORKER_UNKNOWN_TASK');
    assert.match(error.message, /Unknown task "nope"\. Known tasks: .*"add"/);
  });

  it('refuses a payload that cannot cross a thread, naming the task and the offending part', async () => {
    const error = await rejectionOf(booted.manager.run('echo', { user: { save: function save() {} } }));
    assert.ok(error instanceof NotCloneableError);
    assert.equal(error.code, 'ERR_WORKER_NOT_CLONEABLE');
    assert.match(
      error.message,
      /Task "echo": the payload cannot be sent between threads: payload\.user\.save is a function \(save\)/,
    );
  });

  it('refuses a result that cannot cross a thread, naming the task and the offending part', async () => {
    const error = await rejectionOf(booted.manager.run('bad-result'));
    assert.ok(error instanceof NotCloneableError);
    assert.match(
      error.message,
      /Task "bad-result": the result cannot be sent between threads: result\.callback is a function \(onDone\)/,
    );
  });

  it("gives the caller the handler's error with its name, message, stack and own properties", async () => {
    const error = await rejectionOf(booted.manager.run('decline', { code: 'insufficient_funds' }));
    assert.equal(error.name, 'PaymentDeclinedError');
    assert.equal(error.message, 'card declined: insufficient_funds');
    assert.equal(error.declineCode, 'insufficient_funds');
    assert.match(error.stack ?? '', /chaos\.tasks\.js/);
    assert.equal(error.taskName, 'decline');
    assert.ok(!(error instanceof PaymentDeclinedError), 'the class itself does not cross; its name and data do');
  });

  it('stops a runaway while(true) at its timeout and replaces the thread', async () => {
    const started = Date.now();
    const error = await rejectionOf(booted.manager.run('spin'));
    const elapsed = Date.now() - started;
    assert.ok(error instanceof TaskTimeoutError);
    assert.equal(error.code, 'ERR_WORKER_TASK_TIMEOUT');
    assert.match(error.message, /Task "spin" timed out after 200 ms/);
    assert.ok(elapsed >= 200 && elapsed < 5000, `took ${elapsed} ms`);
    assert.equal(await booted.manager.run('add', { a: 1, b: 1 }), 2);
  });

  it('aborts ctx.signal at the timeout so a cooperative handler can stop by itself', async () => {
    const error = await rejectionOf(booted.manager.run('cooperative'));
    assert.ok(error instanceof TaskTimeoutError);
  });

  it('lets a synchronous handler see ctx.timedOut and stop cleanly, keeping its thread', async () => {
    const events: WorkerEvent[] = [];
    const sub = booted.manager.events$.subscribe((e) => events.push(e));
    const error = await rejectionOf(booted.manager.run('polite-spin'));
    sub.unsubscribe();
    assert.ok(error instanceof TaskTimeoutError, `${error.name}: ${error.message}`);
    assert.ok(!events.some((e) => e.type === 'worker.exited'), 'the thread was not terminated');
  });

  it('applies a per-call timeoutMs', async () => {
    const error = await rejectionOf(booted.manager.run('sleep', { ms: 5000 }, { timeoutMs: 100 }));
    assert.ok(error instanceof TaskTimeoutError);
    assert.match(error.message, /after 100 ms/);
  });

  for (const [task, why] of [
    ['exit', /exited with code 3/],
    ['uncaught', /thrown from a timer/],
    ['oom', /memory/i],
  ] as const) {
    it(`isolates a thread crash (${task}): only that task fails, the pool replaces the thread`, async () => {
      const neighbours = Array.from({ length: 6 }, (_, i) => booted.manager.run('sleep', { ms: 20 + i }));
      const error = await rejectionOf(booted.manager.run(task));
      assert.ok(error instanceof WorkerCrashedError, `${error.name}: ${error.message}`);
      assert.equal(error.code, 'ERR_WORKER_THREAD_CRASHED');
      assert.match(error.message, new RegExp(`Task "${task}" lost its worker thread`));
      assert.match(error.message, why);
      assert.deepEqual(await Promise.all(neighbours), [20, 21, 22, 23, 24, 25]);
      assert.equal(await booted.manager.run('add', { a: 20, b: 22 }), 42);
    });
  }

  it('cancels a call through its AbortSignal', async () => {
    const controller = new AbortController();
    const pending = booted.manager.run('sleep', { ms: 10_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user went away')), 50);
    const error = await rejectionOf(pending);
    assert.ok(error instanceof TaskAbortedError);
    assert.equal(error.code, 'ERR_WORKER_ABORTED');
  });

  it('maps over many items in chunks, in order, and names the failing item', async () => {
    const items = Array.from({ length: 20_000 }, (_, i) => i);
    const squares = await booted.manager.map<number>('square', items);
    assert.equal(squares.length, items.length);
    assert.equal(squares[12_345], 12_345 * 12_345);
    const typed = await booted.manager.map<number>('square', new Float64Array([1, 2, 3]));
    assert.deepEqual(typed, [1, 4, 9]);
    const error = await rejectionOf(booted.manager.map('decline', [{ code: 'a' }, { code: 'b' }]));
    assert.equal(error.name, 'PaymentDeclinedError');
    assert.equal(typeof error.itemIndex, 'number');
  });

  it('cancels a map() through its AbortSignal, with the same error as run()', async () => {
    const controller = new AbortController();
    const pending = booted.manager.map('sleep', [{ ms: 3000 }, { ms: 3000 }, { ms: 3000 }], {
      signal: controller.signal,
      chunkSize: 1,
    });
    setTimeout(() => controller.abort(new Error('user went away')), 50);
    const error = await rejectionOf(pending);
    assert.ok(error instanceof TaskAbortedError, `${error.name}: ${error.message}`);
    assert.equal((error.cause as Error).message, 'user went away');
    assert.equal(error.taskName, 'sleep');
  });

  it('lists its tasks: name, where each is declared, and its options as declared', () => {
    const tasks = booted.manager.tasks();
    const spin = tasks.find((t) => t.name === 'spin');
    assert.ok(spin, tasks.map((t) => t.name).join());
    assert.equal(spin.declaredBy, 'ChaosTasks.spin (ChaosTasksModule)');
    assert.deepEqual(spin.options, { timeoutMs: 200 });
    assert.deepEqual(tasks.find((t) => t.name === 'add')?.options, {});
  });

  it('reports stats: queue, running, done, failed, workers alive, utilization', async () => {
    await Promise.all(Array.from({ length: 50 }, () => booted.manager.run('noop')));
    const stats = booted.manager.stats();
    assert.equal(stats.workers.size, 2);
    assert.equal(stats.workers.alive, 2);
    assert.ok(stats.completed >= 50);
    assert.ok(stats.failed >= 1);
    assert.ok(stats.timedOut >= 1);
    assert.ok(stats.crashed >= 3);
    assert.equal(stats.queued, 0);
    assert.equal(stats.running, 0);
    await Promise.all([booted.manager.run('burn', { ms: 300 }), booted.manager.run('burn', { ms: 300 })]);
    const { utilization } = booted.manager.stats().workers;
    assert.ok(utilization > 0.02 && utilization <= 1, `utilization ${utilization}`);
  });

  it('emits typed lifecycle events for run() tasks and for thread crashes', async () => {
    const events: WorkerEvent[] = [];
    const subscription = booted.manager.events$.subscribe((e) => events.push(e));
    await booted.manager.run('add', { a: 1, b: 2 });
    await rejectionOf(booted.manager.run('exit'));
    subscription.unsubscribe();
    const types = events.map((e) => e.type);
    assert.ok(types.includes('task.started'), types.join());
    assert.ok(types.includes('task.completed'), types.join());
    assert.ok(types.includes('task.failed'), types.join());
    assert.ok(types.includes('worker.crashed'), types.join());
  });

  it('gives every error of the module a stable code and the WorkerError base', async () => {
    for (const error of [
      await rejectionOf(booted.manager.run('nope')),
      await rejectionOf(booted.manager.run('spin')),
    ]) {
      assert.ok(error instanceof WorkerError);
      assert.match(error.code, /^ERR_WORKER_[A-Z_]+$/);
    }
  });
});

describe('WorkerModule: bounded queue and backpressure', () => {
  it('never lets the queue grow past queueSize; run() waits for room instead', async () => {
    const booted = await bootChaosApp({ worker: { workers: 1, queueSize: 4, batching: { enabled: false } } });
    try {
      let maxQueued = 0;
      const sampler = setInterval(() => (maxQueued = Math.max(maxQueued, booted.manager.stats().queued)), 1);
      const calls = Array.from({ length: 40 }, (_, i) => booted.manager.run('sleep', { ms: 5 + (i % 2) }));
      await sleep(30);
      const stats = booted.manager.stats();
      assert.ok(stats.waiting > 0, 'callers wait for room');
      assert.ok(stats.queued <= 4);
      const results = await Promise.all(calls);
      clearInterval(sampler);
      assert.equal(results.length, 40);
      assert.ok(maxQueued <= 4, `queue reached ${maxQueued}`);
    } finally {
      await booted.close();
    }
  });

  it("rejects at once with QueueFullError when whenQueueFull is 'reject'", async () => {
    const booted = await bootChaosApp({
      worker: { workers: 1, queueSize: 2, whenQueueFull: 'reject', batching: { enabled: false } },
    });
    try {
      const accepted = [
        booted.manager.run('sleep', { ms: 100 }),
        booted.manager.run('sleep', { ms: 1 }),
        booted.manager.run('sleep', { ms: 1 }),
      ];
      const settled = await Promise.allSettled([
        ...accepted,
        booted.manager.run('sleep', { ms: 1 }),
        booted.manager.run('sleep', { ms: 1 }),
      ]);
      const refused = settled.filter((s) => s.status === 'rejected').map((s) => (s as PromiseRejectedResult).reason);
      assert.ok(refused.length >= 1);
      for (const error of refused) {
        assert.ok(error instanceof QueueFullError);
        assert.equal(error.code, 'ERR_WORKER_QUEUE_FULL');
        assert.match(error.message, /Task "sleep" was refused: the queue is full \(2 tasks\)/);
      }
    } finally {
      await booted.close();
    }
  });
});
