/**
 * nestjs-worker/testing's in-process pool as a test uses it: one override on
 * Nest's testing module, and the application's tasks run on the test's own
 * providers — spies see the calls, overridden providers serve them — through
 * the application's whole path (run(), the worker loop, the in-memory client,
 * retries), with timeouts that stop the call at its deadline.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import { Module, type LoggerService } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  InMemoryTaskClient,
  TaskTimeoutError,
  WorkerManager,
  WorkerModule,
  type WorkerEvent,
  type WorkerModuleOptions,
} from '../../lib/index.js';
import { WORKER_POOL, WorkerTesting } from '../../lib/testing.js';
import { InProcessTasks, InProcessTasksModule, Mailer, RunLog } from '../fixtures/in-process.tasks.js';
import { rejectionOf, until } from '../support/app.js';

const tasksFile = new URL('../fixtures/in-process.tasks.js', import.meta.url);

function appModule(options: WorkerModuleOptions = {}) {
  @Module({
    imports: [
      InProcessTasksModule,
      WorkerModule.forRoot({ tasksModule: { module: InProcessTasksModule, file: tasksFile }, workers: 2, ...options }),
    ],
  })
  class AppModule {}
  return AppModule;
}

class CaptureLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown) {
    this.lines.push(String(message));
  }
  warn(message: unknown) {
    this.lines.push(String(message));
  }
  error(message: unknown) {
    this.lines.push(String(message));
  }
}

let opened: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(opened.map((m) => m.close()));
  opened = [];
});

async function start(
  module: unknown,
  configure: (builder: ReturnType<typeof Test.createTestingModule>) => typeof builder = (b) => b,
  logger: LoggerService = new CaptureLogger(),
): Promise<TestingModule> {
  const builder = Test.createTestingModule({ imports: [module as never] })
    .overrideProvider(WORKER_POOL)
    .useValue(WorkerTesting.inProcess())
    .setLogger(logger);
  const moduleRef = await configure(builder).compile();
  opened.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}

describe('WorkerTesting.inProcess(): handlers on the test’s own providers', () => {
  it('says at start-up that it runs without threads', async () => {
    const logger = new CaptureLogger();
    await start(appModule(), undefined, logger);
    assert.ok(
      logger.lines.some((l) =>
        /^In-process pool \(nestjs-worker\/testing: no threads, 2 dispatch\(es\) at a time\) ready with \d+ task\(s\)/.test(
          l,
        ),
      ),
      logger.lines.join('\n'),
    );
  });

  it('a spy on the task method, put on after start-up, sees the call', async () => {
    const moduleRef = await start(appModule());
    const tasks = moduleRef.get(InProcessTasks);
    const spy = mock.method(tasks, 'welcome');
    assert.equal(
      await moduleRef.get(WorkerManager).run('welcome', { to: 'ada@example.com' }),
      'sent to ada@example.com',
    );
    assert.equal(spy.mock.callCount(), 1);
    assert.deepEqual(spy.mock.calls[0]!.arguments[0], { to: 'ada@example.com' });
    const ctx = (spy.mock.calls[0]!.arguments as unknown[])[1] as { name: string; attempt: number };
    assert.deepEqual([ctx.name, ctx.attempt], ['welcome', 1]);
  });

  it('a spy on a dependency replaces what the handler calls', async () => {
    const moduleRef = await start(appModule());
    const send = mock.method(moduleRef.get(Mailer), 'send', (to: string) => `queued for ${to}`);
    assert.equal(
      await moduleRef.get(WorkerManager).run('welcome', { to: 'bob@example.com' }),
      'queued for bob@example.com',
    );
    assert.deepEqual(send.mock.calls[0]!.arguments, ['bob@example.com']);
  });

  it('overrideProvider() reaches the handlers', async () => {
    const fake = { sent: [] as string[], send: (to: string) => `fake mail to ${to}` };
    const moduleRef = await start(appModule(), (b) => b.overrideProvider(Mailer).useValue(fake));
    assert.equal(
      await moduleRef.get(WorkerManager).run('welcome', { to: 'eve@example.com' }),
      'fake mail to eve@example.com',
    );
  });

  it('hands the handler a copy of the payload, and the caller a copy of the result', async () => {
    const moduleRef = await start(appModule());
    const payload = { list: [1, 2], nested: { a: 1 } };
    const result = (await moduleRef.get(WorkerManager).run('echo', payload)) as typeof payload;
    assert.deepEqual(result, payload);
    assert.notEqual(result, payload);
    assert.notEqual(result.nested, payload.nested);
  });

  it('refuses a bad concurrency at once', () => {
    assert.throws(
      () => WorkerTesting.inProcess({ concurrency: 0 }),
      /"concurrency" must be an integer of at least 1, got 0/,
    );
    assert.equal(WorkerTesting.POOL, WORKER_POOL);
  });

  it('runs one dispatch at a time with concurrency: 1', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [appModule({ batching: { enabled: false } })] })
      .overrideProvider(WORKER_POOL)
      .useValue(WorkerTesting.inProcess({ concurrency: 1 }))
      .setLogger(new CaptureLogger())
      .compile();
    opened.push(moduleRef);
    await moduleRef.init();
    const manager = moduleRef.get(WorkerManager);
    const runs = [manager.run('sleep', { ms: 20 }), manager.run('sleep', { ms: 20 }), manager.run('sleep', { ms: 20 })];
    assert.equal(manager.stats().running, 1);
    assert.equal(manager.stats().workers.size, 1);
    await Promise.all(runs);
  });
});

describe('WorkerTesting.inProcess(): timeouts are cooperative', () => {
  it('ctx.signal aborts and ctx.timedOut flips at the deadline; the call fails with TaskTimeoutError', async () => {
    const moduleRef = await start(appModule());
    const error = await rejectionOf(moduleRef.get(WorkerManager).run('cooperative'));
    assert.ok(error instanceof TaskTimeoutError);
    assert.equal(error.timeoutMs, 100);
    assert.deepEqual(moduleRef.get(RunLog).signals, [{ aborted: true, timedOut: true, reason: 'TaskTimeoutError' }]);
  });

  it('a handler that ignores its signal: the call fails at the deadline while the handler runs on; closing says so', async () => {
    const logger = new CaptureLogger();
    const moduleRef = await start(appModule(), undefined, logger);
    const log = moduleRef.get(RunLog);
    const error = await rejectionOf(moduleRef.get(WorkerManager).run('ignores-signal', { ms: 400 }));
    assert.ok(error instanceof TaskTimeoutError);
    assert.equal(log.ignoring, 1);
    assert.equal(log.ignoringDone, 0, 'the call failed before the handler returned');
    await moduleRef.close();
    opened = opened.filter((m) => m !== moduleRef);
    assert.ok(
      logger.lines.some((l) =>
        /^1 in-process task run\(s\) \("ignores-signal"\) were stopped .* a handler cannot be stopped, only told to stop through ctx\.signal/.test(
          l,
        ),
      ),
      logger.lines.join('\n'),
    );
    await until(() => log.ignoringDone === 1, 5000, 'the handler to return');
  });
});

describe('WorkerTesting.inProcess(): the worker loop, the in-memory client and retries', () => {
  it('retries a failing task from the in-memory client until it completes', async () => {
    const moduleRef = await start(appModule());
    const client = moduleRef.get(InMemoryTaskClient);
    const flaky = mock.method(moduleRef.get(InProcessTasks), 'flaky');
    const id = client.enqueue('flaky', { key: 'k1' });
    const record = await client.waitFor(id, AbortSignal.timeout(10_000));
    assert.equal(record.state, 'completed');
    assert.equal(record.attempt, 3);
    assert.equal(record.result, 'done on attempt 3');
    assert.deepEqual(
      record.errors.map((e) => e.message),
      ['attempt 1 failed', 'attempt 2 failed'],
    );
    assert.equal(flaky.mock.callCount(), 3);
  });

  it('fails a NonRetryableError at once, and a timed-out task with reason "timeout"', async () => {
    const moduleRef = await start(appModule({ retry: { maxAttempts: 1 } }));
    const client = moduleRef.get(InMemoryTaskClient);
    const fatal = await client.waitFor(client.enqueue('fatal'), AbortSignal.timeout(10_000));
    assert.equal(fatal.state, 'failed');
    assert.equal(fatal.attempt, 1);
    assert.equal(fatal.errors[0]?.name, 'NonRetryableError');
    const slow = await client.waitFor(client.enqueue('cooperative'), AbortSignal.timeout(10_000));
    assert.equal(slow.state, 'failed');
    assert.equal(client.deadLetters().find((d) => d.id === slow.id)?.reason, 'timeout');
  });

  it('emits the same lifecycle events', async () => {
    const moduleRef = await start(appModule());
    const manager = moduleRef.get(WorkerManager);
    const events: WorkerEvent[] = [];
    const subscription = manager.events$.subscribe((e) => events.push(e));
    const client = moduleRef.get(InMemoryTaskClient);
    await client.waitFor(client.enqueue('welcome', { to: 'x@example.com' }), AbortSignal.timeout(10_000));
    subscription.unsubscribe();
    assert.deepEqual(
      events.filter((e) => e.type.startsWith('task.')).map((e) => e.type),
      ['task.fetched', 'task.started', 'task.completed'],
    );
  });
});
