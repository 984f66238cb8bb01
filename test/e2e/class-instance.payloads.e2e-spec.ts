/**
 * A class instance as payload reaches the handler as a plain object (it
 * fails with "payload.norm is not a function"): outside production, a
 * warning says so once per task and class, names the fix, and costs one
 * prototype lookup per call; in-process tests also hear about instances
 * nested in the payload.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Module, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { InMemoryTaskClient, WorkerManager, WorkerModule } from '../../lib/index.js';
import { WORKER_POOL, WorkerTesting } from '../../lib/testing.js';
import { InProcessTasksModule, Vector } from '../fixtures/in-process.tasks.js';
import { rejectionOf } from '../support/app.js';

const tasksFile = new URL('../fixtures/in-process.tasks.js', import.meta.url);

@Module({
  imports: [
    InProcessTasksModule,
    WorkerModule.forRoot({ tasksModule: { module: InProcessTasksModule, file: tasksFile }, workers: 1 }),
  ],
})
class AppModule {}

class CaptureLogger implements LoggerService {
  readonly warnings: string[] = [];
  log() {}
  error() {}
  warn(message: unknown) {
    this.warnings.push(String(message));
  }
}

const VECTOR_WARNING =
  "Task \"norm\": payload is a Vector instance. Only its data crosses to the worker thread: the handler receives a plain object, without Vector's prototype and methods. Send plain data and rebuild the instance in the handler (e.g. Vector.from(payload)), or give the task a schema that builds it (e.g. zod's .transform()): the handler receives the schema's output. (Said once per task and class, outside production.)";

describe('Class instances as payloads (worker threads)', () => {
  let app: INestApplicationContext;
  let logger: CaptureLogger;
  const nodeEnv = process.env.NODE_ENV;
  beforeEach(() => {
    logger = new CaptureLogger();
  });
  afterEach(async () => {
    await app?.close();
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  });

  it('warns once per task and class, and the handler still gets a plain object', async () => {
    app = await NestFactory.createApplicationContext(AppModule, { logger, abortOnError: false });
    const manager = app.get(WorkerManager);
    const error = await rejectionOf(manager.run('norm', new Vector(3, 4)));
    assert.match(error.message, /payload\.norm is not a function/);
    await rejectionOf(manager.run('norm', new Vector(6, 8)));
    assert.equal(await manager.run('norm', { x: 3, y: 4, norm: undefined }).catch(() => 'failed'), 'failed');
    assert.deepEqual(logger.warnings, [VECTOR_WARNING]);
  });

  it('warns for tasks enqueued on the in-memory client, map() items and Buffers', async () => {
    app = await NestFactory.createApplicationContext(AppModule, { logger, abortOnError: false });
    const client = app.get(InMemoryTaskClient);
    await client.waitFor(client.enqueue('echo', new Vector(1, 1)), AbortSignal.timeout(10_000));
    await app.get(WorkerManager).map('echo', [new Vector(1, 2), new Vector(3, 4)]);
    const result = await app.get(WorkerManager).run('echo', Buffer.from('hi'));
    assert.ok(result instanceof Uint8Array && !Buffer.isBuffer(result), 'a Buffer arrives as a plain Uint8Array');
    assert.deepEqual(
      logger.warnings.map((w) => /^Task "(\S+)": (\S+) is a (\S+) instance\./.exec(w)?.slice(1)),
      [
        ['echo', 'payload', 'Vector'],
        ['echo', 'items[0]', 'Vector'],
        ['echo', 'payload', 'Buffer'],
      ],
    );
    assert.match(logger.warnings[2]!, /the handler receives a plain Uint8Array, without Buffer's methods/);
  });

  it('says nothing in production', async () => {
    process.env.NODE_ENV = 'production';
    app = await NestFactory.createApplicationContext(AppModule, { logger, abortOnError: false });
    await rejectionOf(app.get(WorkerManager).run('norm', new Vector(3, 4)));
    assert.deepEqual(logger.warnings, []);
  });

  it('says nothing about plain data', async () => {
    app = await NestFactory.createApplicationContext(AppModule, { logger, abortOnError: false });
    const manager = app.get(WorkerManager);
    await manager.run('echo', { a: [1, 2], d: new Date(0), m: new Map(), t: new Uint8Array(2) });
    await manager.map('echo', new Float64Array([1, 2, 3]));
    assert.deepEqual(logger.warnings, []);
  });
});

describe('Class instances as payloads (in-process)', () => {
  it('also names instances nested in the payload, by path', async () => {
    const logger = new CaptureLogger();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(WORKER_POOL)
      .useValue(WorkerTesting.inProcess())
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    try {
      const manager = moduleRef.get(WorkerManager);
      await rejectionOf(manager.run('norm', new Vector(3, 4)));
      const echoed = (await manager.run('echo', { shape: { origin: new Vector(0, 0) } })) as {
        shape: { origin: object };
      };
      assert.equal(Object.getPrototypeOf(echoed.shape.origin), Object.prototype);
      assert.deepEqual(
        logger.warnings
          .filter((w) => w.startsWith('Task '))
          .map((w) => /^Task "(\S+)": (\S+) is a (\S+) instance\./.exec(w)?.slice(1)),
        [
          ['norm', 'payload', 'Vector'],
          ['echo', 'payload.shape.origin', 'Vector'],
        ],
      );
    } finally {
      await moduleRef.close();
    }
  });
});
