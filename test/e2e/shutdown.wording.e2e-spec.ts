/**
 * What a shutdown says about the tasks it did not finish: a task still
 * running at the deadline was stopped (not "not run"), one still queued had
 * not started, one asked for during shutdown was refused; loop tasks are
 * released to the task client, and with the in-memory client the log says
 * what stays in its queue and is lost when the process exits — in the
 * errors, the events and the log lines, with threads and in-process.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Module, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  InMemoryTaskClient,
  WorkerManager,
  WorkerModule,
  WorkerShutdownError,
  type TaskReleasedEvent,
  type WorkerEvent,
} from '../../lib/index.js';
import { WORKER_POOL, WorkerTesting } from '../../lib/testing.js';
import { ChaosTasksModule } from '../fixtures/chaos.tasks.js';
import { chaosTasksFile, rejectionOf, until } from '../support/app.js';

class CaptureLogger implements LoggerService {
  readonly lines: string[] = [];
  log() {}
  warn(message: unknown) {
    this.lines.push(String(message));
  }
  error(message: unknown) {
    this.lines.push(String(message));
  }
}

@Module({
  imports: [
    ChaosTasksModule,
    WorkerModule.forRoot({
      tasksModule: { module: ChaosTasksModule, file: chaosTasksFile },
      workers: 2,
      shutdownTimeoutMs: 300,
      batching: { enabled: false },
    }),
  ],
})
class AppModule {}

async function threaded(logger: LoggerService): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(AppModule, { logger, abortOnError: false });
}

async function inProcess(logger: LoggerService): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(WORKER_POOL)
    .useValue(WorkerTesting.inProcess())
    .setLogger(logger)
    .compile();
  return moduleRef.init();
}

const ms = (n: number) => ({ ms: n });

for (const [mode, start, sleepMs] of [
  ['worker threads', threaded, 60_000],
  // In-process, a stopped handler runs on: keep it short so the test process can end.
  ['in-process', inProcess, 1500],
] as const) {
  describe(`Shutdown wording (${mode})`, () => {
    it('says what happened to each task the shutdown deadline reached', async () => {
      const logger = new CaptureLogger();
      const app = await start(logger);
      const manager = app.get(WorkerManager);
      const client = app.get(InMemoryTaskClient);
      const events: WorkerEvent[] = [];
      manager.events$.subscribe((e) => events.push(e));

      // Thread 1: a run() call; thread 2: the first loop task. Queued: two loop tasks, then a run() call.
      const running = rejectionOf(manager.run('sleep', ms(sleepMs), { timeoutMs: 0 }));
      await until(() => manager.stats().running === 1, 10_000, 'the run() call to start');
      for (let i = 0; i < 3; i++) client.enqueue('sleep', ms(sleepMs));
      client.enqueue('sleep', ms(1), { delayMs: 60_000 });
      await until(() => manager.stats().running === 2 && manager.stats().queued === 2, 10_000, 'loop tasks');
      const queued = rejectionOf(manager.run('sleep', ms(sleepMs), { timeoutMs: 0 }));
      assert.equal(manager.stats().queued, 3);

      const closing = app.close();
      await until(() => manager.stats().loop !== 'running', 10_000, 'shutdown to begin');
      const refused = await rejectionOf(manager.run('add', { a: 1, b: 2 }));
      await closing;

      assert.ok(refused instanceof WorkerShutdownError);
      assert.equal(refused.stage, 'refused');
      assert.equal(
        refused.message,
        'Task "add" was not started: the worker pool is shutting down and takes no new tasks.',
      );

      const stopped = await running;
      assert.ok(stopped instanceof WorkerShutdownError, `${stopped.name}: ${stopped.message}`);
      assert.equal(stopped.stage, 'stopped');
      assert.equal(
        stopped.message,
        'Task "sleep" was stopped at the shutdown deadline (shutdownTimeoutMs, 300 ms): it was still running, so its worker thread was stopped and the task did not complete.',
      );

      const unstarted = await queued;
      assert.ok(unstarted instanceof WorkerShutdownError, `${unstarted.name}: ${unstarted.message}`);
      assert.equal(unstarted.stage, 'unstarted');
      assert.equal(
        unstarted.message,
        'Task "sleep" was not started: it was still queued at the shutdown deadline (shutdownTimeoutMs, 300 ms).',
      );

      const released = events.filter((e): e is TaskReleasedEvent => e.type === 'task.released');
      assert.deepEqual(released.map((e) => e.started).sort(), [false, false, true]);
      // A refused call never reached the pool: it has no event.
      const failed = events.filter((e) => e.type === 'task.failed' && e.source === 'run');
      assert.deepEqual(
        failed.map((e) => (e.type === 'task.failed' ? e.error.message : '')).sort(),
        [stopped.message, unstarted.message].sort(),
      );

      assert.ok(
        logger.lines.includes(
          'Shutdown deadline (shutdownTimeoutMs, 300 ms): stopping 2 task(s) still running, and their worker threads. ' +
            '1 task(s) from the task client (1 stopped, 0 not started) are released to it unfinished: InMemoryTaskClient puts them back in its queue, which is lost when this process exits. ' +
            '1 run()/map() call(s) fail with WorkerShutdownError. ' +
            '1 run()/map() call(s) still queued fail with WorkerShutdownError without having started.',
        ),
        logger.lines.join('\n'),
      );
      assert.ok(
        logger.lines.includes(
          'InMemoryTaskClient: 4 unfinished task(s) stay in its queue and are lost when this process exits: ' +
            '3 queued (of them 3 handed back at this shutdown: 2 before they started, 1 stopped at the shutdown deadline), ' +
            '1 delayed (retries, delayed tasks). Use PostgresTaskClient or RedisTaskClient to keep tasks across restarts.',
        ),
        logger.lines.join('\n'),
      );
      assert.ok(!logger.lines.some((l) => /was not run|had not started and are lost/.test(l)), logger.lines.join('\n'));
      assert.deepEqual(client.counts(), { queued: 3, delayed: 1, running: 0, completed: 0, failed: 0, cancelled: 0 });
    });
  });
}

describe('Shutdown wording: nothing to say', () => {
  it('a shutdown with nothing left says nothing about lost tasks', async () => {
    const logger = new CaptureLogger();
    const app = await threaded(logger);
    const client = app.get(InMemoryTaskClient);
    await client.waitFor(client.enqueue('add', { a: 1, b: 2 }), AbortSignal.timeout(10_000));
    await app.close();
    assert.deepEqual(logger.lines, []);
  });
});
