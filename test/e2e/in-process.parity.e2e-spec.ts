/**
 * The in-process pool of nestjs-worker/testing against real worker threads:
 * the same application, the same calls, the same outcomes — values, error
 * classes, codes and messages, what cannot be cloned, class instances that
 * arrive as plain objects, transferred buffers, timeouts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { WorkerManager, WorkerModule, type RunOptions } from '../../lib/index.js';
import { WORKER_POOL, WorkerTesting } from '../../lib/testing.js';
import { InProcessTasksModule, StrayTasksModule, Vector } from '../fixtures/in-process.tasks.js';

const tasksFile = new URL('../fixtures/in-process.tasks.js', import.meta.url);

@Module({
  imports: [
    InProcessTasksModule,
    WorkerModule.forRoot({ tasksModule: { module: InProcessTasksModule, file: tasksFile }, workers: 2 }),
  ],
})
class AppModule {}

@Module({
  imports: [
    InProcessTasksModule,
    StrayTasksModule,
    WorkerModule.forRoot({ tasksModule: { module: InProcessTasksModule, file: tasksFile }, workers: 1 }),
  ],
})
class AppWithStrayTaskModule {}

const quiet = { log() {}, warn() {}, error() {}, debug() {}, verbose() {} };

async function threaded(module: unknown): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(module as never, { logger: false, abortOnError: false });
}

async function inProcess(module: unknown): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({ imports: [module as never] })
    .overrideProvider(WORKER_POOL)
    .useValue(WorkerTesting.inProcess())
    .setLogger(quiet)
    .compile();
  return moduleRef.init();
}

/** What a call came to, in terms both pools must agree on. */
async function outcome(manager: WorkerManager, name: string, payload?: unknown, options?: RunOptions) {
  try {
    const value = await manager.run(name, payload, options);
    const proto = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value)?.constructor?.name : null;
    return { value, proto };
  } catch (thrown) {
    const e = thrown as Error & Record<string, unknown>;
    return {
      error: {
        class: Object.getPrototypeOf(e)?.constructor?.name,
        name: e.name,
        code: e.code,
        message: e.message,
        direction: e.direction,
        path: e.path,
        valueType: e.valueType,
        issues: e.issues,
        limit: e.limit,
        retryable: e.retryable,
        cause: (e.cause as Error | undefined)?.name,
      },
    };
  }
}

type Outcome = Awaited<ReturnType<typeof outcome>>;
const failsWith =
  (expected: Record<string, unknown>) =>
  ({ error }: Outcome) => {
    assert.ok(error, 'the call failed');
    for (const [key, value] of Object.entries(expected)) {
      if (value instanceof RegExp) assert.match(String(error[key as keyof typeof error]), value, key);
      else assert.deepEqual(error[key as keyof typeof error], value, key);
    }
  };
const returns = (value: unknown, proto?: string) => (o: Outcome) => {
  assert.deepEqual(o, { value, proto: proto ?? (value !== null && typeof value === 'object' ? 'Object' : null) });
};

const cases: Array<{
  title: string;
  name: string;
  payload?: () => unknown;
  options?: () => RunOptions;
  /** What both must come to. */
  expect: (o: Outcome) => void;
}> = [
  {
    title: 'a plain result',
    name: 'welcome',
    payload: () => ({ to: 'ada@example.com' }),
    expect: returns('sent to ada@example.com'),
  },
  {
    title: 'an unknown task',
    name: 'no-such-task',
    expect: failsWith({ class: 'UnknownTaskError', code: 'ERR_WORKER_UNKNOWN_TASK' }),
  },
  {
    title: 'a payload that cannot be cloned',
    name: 'echo',
    payload: () => ({ user: { id: 1, save: function save() {} } }),
    expect: failsWith({
      class: 'NotCloneableError',
      direction: 'payload',
      path: 'payload.user.save',
      valueType: 'a function (save)',
    }),
  },
  {
    title: 'a result that cannot be cloned',
    name: 'bad-result',
    expect: failsWith({ class: 'NotCloneableError', direction: 'result', path: 'result.nested.onDone' }),
  },
  {
    title: 'a payload the schema refuses',
    name: 'counted',
    payload: () => ({ n: -1 }),
    expect: failsWith({
      class: 'InvalidPayloadError',
      issues: [{ message: 'must be a positive number, got -1', path: 'n' }],
    }),
  },
  {
    title: "the schema's output as the handler's input",
    name: 'counted',
    payload: () => ({ n: 2 }),
    expect: returns({ n: 2, checked: true }),
  },
  {
    title: 'an error of its own, with properties',
    name: 'quota',
    payload: () => ({ limit: 3 }),
    expect: failsWith({ class: 'Error', name: 'QuotaError', message: 'over the quota of 3', limit: 3 }),
  },
  { title: 'a NonRetryableError', name: 'fatal', expect: failsWith({ name: 'NonRetryableError', retryable: false }) },
  {
    title: 'a class instance as payload (arrives as a plain object)',
    name: 'norm',
    payload: () => new Vector(3, 4),
    expect: failsWith({ class: 'TypeError', message: /payload\.norm is not a function/ }),
  },
  {
    title: 'a class instance as result (arrives as a plain object)',
    name: 'make-vector',
    payload: () => ({ x: 1, y: 2 }),
    expect: returns({ x: 1, y: 2 }),
  },
  {
    title: 'a Map, a Date and a typed array',
    name: 'echo',
    payload: () => ({ m: new Map([[1, 'a']]), d: new Date(0), t: new Uint8Array([1, 2]) }),
    expect: returns({ m: new Map([[1, 'a']]), d: new Date(0), t: new Uint8Array([1, 2]) }),
  },
  { title: 'isPoolThread() inside a task', name: 'where', expect: returns({ poolThread: true }) },
  {
    title: 'a timeout the handler watches (ctx.signal)',
    name: 'cooperative',
    expect: failsWith({ class: 'TaskTimeoutError', code: 'ERR_WORKER_TASK_TIMEOUT' }),
  },
  {
    title: 'a timeout the handler ignores',
    name: 'ignores-signal',
    payload: () => ({ ms: 1000 }),
    expect: failsWith({ class: 'TaskTimeoutError', message: /timed out after 50 ms/ }),
  },
  {
    title: 'a per-call timeout',
    name: 'sleep',
    payload: () => ({ ms: 1000 }),
    options: () => ({ timeoutMs: 50 }),
    expect: failsWith({ class: 'TaskTimeoutError', message: /timed out after 50 ms/ }),
  },
  {
    title: 'a caller that aborts',
    name: 'sleep',
    payload: () => ({ ms: 1000 }),
    options: () => ({ signal: AbortSignal.timeout(30) }),
    expect: failsWith({ class: 'TaskAbortedError', cause: 'TimeoutError' }),
  },
];

describe('In-process pool and worker threads agree', () => {
  let threads: INestApplicationContext;
  let local: INestApplicationContext;

  before(async () => {
    threads = await threaded(AppModule);
    local = await inProcess(AppModule);
  });
  after(async () => {
    await threads?.close();
    await local?.close();
  });

  for (const c of cases) {
    it(c.title, async () => {
      const inThreads = await outcome(threads.get(WorkerManager), c.name, c.payload?.(), c.options?.());
      const inProcessOutcome = await outcome(local.get(WorkerManager), c.name, c.payload?.(), c.options?.());
      c.expect(inThreads);
      assert.deepEqual(inProcessOutcome, inThreads);
    });
  }

  it('moves transferred buffers, leaving them detached on the caller side', async () => {
    for (const app of [threads, local]) {
      const buffer = new ArrayBuffer(16);
      const value = await app.get(WorkerManager).run('byte-length', { buffer }, { transfer: [buffer] });
      assert.equal(value, 16);
      assert.equal(buffer.byteLength, 0);
    }
  });

  it('runs map() the same way, failing fast on the same item', async () => {
    for (const app of [threads, local]) {
      const manager = app.get(WorkerManager);
      assert.deepEqual(await manager.map('echo', [1, 2, 3]), [1, 2, 3]);
      const error = (await manager.map('counted', [{ n: 1 }, { n: 0 }]).catch((e: unknown) => e)) as Error &
        Record<string, unknown>;
      assert.equal(error.name, 'InvalidPayloadError');
      assert.equal(error.itemIndex, 1);
    }
  });

  it('is false outside tasks: isPoolThread() in the test itself', async () => {
    const { isPoolThread } = await import('../../lib/index.js');
    assert.equal(isPoolThread(), false);
  });
});

describe('In-process pool and worker threads refuse the same application', () => {
  it('a task declared outside the tasks module fails start-up with the same message', async () => {
    const fromThreads = await threaded(AppWithStrayTaskModule).then(
      async (app) => {
        await app.close();
        return undefined;
      },
      (e: Error) => e,
    );
    const fromProcess = await inProcess(AppWithStrayTaskModule).then(
      async (app) => {
        await app.close();
        return undefined;
      },
      (e: Error) => e,
    );
    assert.ok(fromThreads, 'the threads refused it');
    assert.equal(fromProcess?.name, fromThreads.name);
    assert.equal(fromProcess?.message, fromThreads.message);
    assert.match(fromProcess!.message, /"stray"/);
  });
});
