/**
 * The worker loop over PostgresTaskClient (PG_URL from the runner): what it
 * does with leases it lost, start marks, prefetch bounded by the lease, the
 * `redact` hook, and task names from outside in its log lines. Real apps,
 * real worker threads, a queue of their own per test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Module, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { PostgresTaskClient, type PostgresTaskClientOptions } from '../../lib/postgres.js';
import {
  WorkerManager,
  WorkerModule,
  type TaskEnvelope,
  type WorkerEvent,
  type WorkerModuleOptions,
} from '../../lib/index.js';
import { ChaosTasksModule } from '../fixtures/chaos.tasks.js';
import { boot, chaosTasksFile, sleep, until, type BootedApp } from '../support/app.js';

const url = process.env.PG_URL;
const never = new AbortController().signal;
const queueName = () => `q-${randomUUID().slice(0, 8)}`;
const quiet: LoggerService = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** Lines the app's Nest logger was given, by level. */
class CaptureLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string }> = [];
  log(message: unknown): void {
    this.lines.push({ level: 'log', message: String(message) });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }
}

/** A client whose lease extensions can be held back, as if its process were frozen. */
class StallingClient extends PostgresTaskClient {
  stalled = false;
  marked = 0;
  override extendLeases(tasks: readonly TaskEnvelope[]): Promise<readonly TaskEnvelope[]> {
    return this.stalled ? Promise.resolve([]) : super.extendLeases(tasks);
  }
  override markStarted(tasks: readonly TaskEnvelope[]): Promise<void> {
    this.marked += tasks.length;
    return super.markStarted(tasks);
  }
}

describe(
  'the worker loop on PostgreSQL leases',
  { skip: url ? false : 'PG_URL is not set (run through npm test)' },
  () => {
    const clients: PostgresTaskClient[] = [];
    let admin: pg.Pool;

    function client(options: Partial<PostgresTaskClientOptions> = {}): PostgresTaskClient {
      const made = new PostgresTaskClient({
        connectionString: url!,
        cleanupIntervalMs: 0,
        listen: false,
        logger: quiet,
        ...options,
      });
      clients.push(made);
      return made;
    }

    async function bootWith(
      consumer: PostgresTaskClient,
      options: WorkerModuleOptions = {},
      logger?: LoggerService,
    ): Promise<BootedApp & { events: WorkerEvent[] }> {
      @Module({
        imports: [
          ChaosTasksModule,
          WorkerModule.forRoot({
            tasksModule: { module: ChaosTasksModule, file: chaosTasksFile },
            workers: 1,
            loop: { idleMinMs: 20, idleMaxMs: 100 },
            ...options,
            client: { useFactory: () => consumer },
          }),
        ],
      })
      class LoopLeasesAppModule {}
      const events: WorkerEvent[] = [];
      let booted: BootedApp;
      if (logger) {
        const app = await NestFactory.createApplicationContext(LoopLeasesAppModule, { logger, abortOnError: false });
        let closed: Promise<void> | undefined;
        booted = { app, manager: app.get(WorkerManager), close: () => (closed ??= app.close()) };
      } else {
        booted = await boot(LoopLeasesAppModule, ['error']);
      }
      booted.manager.events$.subscribe((event) => events.push(event));
      return { ...booted, events };
    }

    before(async () => {
      admin = new pg.Pool({ connectionString: url, max: 2 });
      await client().migrate();
    });

    after(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await admin.end();
    });

    it('a process that lost its leases drops the tasks it had not started, and reports the running one once', async (t) => {
      const queue = queueName();
      const frozen = new StallingClient({
        connectionString: url!,
        queue,
        leaseMs: 1200,
        cleanupIntervalMs: 0,
        listen: false,
        logger: quiet,
      });
      clients.push(frozen);
      const other = client({ queue, leaseMs: 1200 });
      const booted = await bootWith(frozen);
      try {
        // Tasks longer than the lease: one runs, the next waits its turn.
        const ids = await other.enqueueMany(
          Array.from({ length: 6 }, (_, i) => ({ name: 'sleep', payload: { ms: 3000 + i } })),
        );
        await until(() => booted.events.filter((e) => e.type === 'task.fetched').length >= 2, 10_000, 'tasks held');
        // Frozen: its leases are not extended, and run out.
        frozen.stalled = true;
        await sleep(1600);
        // Meanwhile another process takes over everything there is, and finishes it.
        const takenAt = new Map<string, number>();
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline) {
          const tasks = await other.fetch(50, never);
          for (const task of tasks) takenAt.set(task.id, Date.now());
          await other.publish(
            tasks.map((task) => ({ status: 'completed' as const, task, result: 'other', durationMs: 1 })),
          );
          if (tasks.length === 0 && (await other.counts()).queued === 0) break;
          await sleep(50);
        }
        frozen.stalled = false;
        await until(() => booted.events.some((e) => e.type === 'task.lease-lost'), 5000, 'the loss to be noticed');
        await sleep(800); // let whatever it does next happen
        const lost = booted.events.filter((e) => e.type === 'task.lease-lost') as Array<
          WorkerEvent & { started: boolean; taskId: string; at: number }
        >;
        const dropped = lost.filter((e) => !e.started);
        t.diagnostic(
          `${lost.length} lost lease(s) reported: ${dropped.length} dropped unstarted, ${lost.length - dropped.length} running or finished; other process took ${takenAt.size} task(s)`,
        );
        assert.ok(dropped.length > 0, 'tasks it held unstarted were dropped');
        assert.equal(new Set(lost.map((e) => e.taskId)).size, lost.length, 'each lost delivery reported once');
        for (const loss of dropped) {
          const startedAfter = booted.events.filter(
            (e) => e.type === 'task.started' && e.taskId === loss.taskId && e.at >= loss.at,
          );
          assert.deepEqual(startedAfter, [], `task ${loss.taskId} was run after its lease was reported lost`);
        }
        assert.ok(
          lost.every((e) => takenAt.has(e.taskId)),
          'only tasks the other process had taken over are reported lost',
        );
        assert.equal(frozen.stats.lostLeases, lost.length, 'the client counted each lost delivery once');
        await until(async () => (await other.counts()).completed === ids.length, 30_000, 'every task completed');
      } finally {
        await booted.close();
      }
    });

    it('marks started tasks in batches, and holds no more unstarted than the threads start within a quarter lease', async (t) => {
      const queue = queueName();
      const consumer = new StallingClient({
        connectionString: url!,
        queue,
        leaseMs: 2000,
        cleanupIntervalMs: 0,
        listen: false,
        logger: quiet,
      });
      clients.push(consumer);
      const producer = client({ queue });
      const booted = await bootWith(consumer, {
        queueSize: 1024,
        loop: { fetchBatchSize: 256, idleMinMs: 20, idleMaxMs: 100 },
      });
      try {
        const ids = await producer.enqueueMany(
          Array.from({ length: 600 }, (_, i) => ({ name: 'burn', payload: { ms: 5 + (i % 2) } })),
        );
        let unstarted = 0;
        let most = 0;
        const subscription = booted.manager.events$.subscribe((event) => {
          if (!('source' in event) || event.source !== 'client') return;
          if (event.type === 'task.fetched') most = Math.max(most, ++unstarted);
          if (event.type === 'task.started') unstarted--;
        });
        await until(async () => (await producer.counts()).completed === ids.length, 60_000, 'the drain');
        subscription.unsubscribe();
        t.diagnostic(
          `at most ${most} task(s) held unstarted (1 thread, ~5 ms tasks, 2000 ms lease); ${consumer.marked} start mark(s)`,
        );
        // 1 thread x 500 ms / ~5 ms = ~100; the queue (1024) and a fetch (256) would allow far more.
        assert.ok(most <= 150, `${most} held unstarted`);
        // A long task is marked while it runs.
        const long = await producer.enqueue('sleep', { ms: 1500 });
        await until(
          async () => {
            const { rows } = await admin.query(
              `SELECT started_at FROM nestjs_worker.tasks WHERE queue = $1 AND id = $2`,
              [queue, long],
            );
            return rows[0]?.started_at != null;
          },
          5000,
          'the start mark of a running task',
        );
        assert.ok(consumer.marked >= 1);
      } finally {
        await booted.close();
      }
    });

    it('redacts errors before they are stored, logged and emitted; a failing hook never lets the original through', async () => {
      const queue = queueName();
      const consumer = client({ queue });
      const producer = client({ queue });
      const logger = new CaptureLogger();
      const booted = await bootWith(
        consumer,
        {
          retry: { maxAttempts: 1 },
          redact: (error, task) => {
            if (task.name === 'fatal') throw new Error('the hook itself broke');
            return { name: error.name, message: error.message.replace(/secret-\w+/g, '[secret]'), code: error.code };
          },
        },
        logger,
      );
      try {
        const [declined, unknown, fatal] = await producer.enqueueMany([
          { name: 'decline', payload: { code: 'secret-4242' } },
          // An unknown task's error is made by the loop itself; the hook sees it too.
          { name: 'no-such-task-secret-77', payload: null },
          { name: 'fatal', payload: null },
        ]);
        const finished = async (id: string) => {
          await until(async () => (await producer.get(id))?.state === 'failed', 10_000, `task ${id} to fail`);
          return (await producer.get(id))!;
        };
        const record = await finished(declined!);
        assert.equal(record.errors[0]!.message, 'card declined: [secret]');
        assert.equal(record.errors[0]!.props, undefined, 'props dropped by the hook');
        assert.equal(record.errors[0]!.stack, undefined, 'stack dropped by the hook');
        assert.doesNotMatch((await finished(unknown!)).errors[0]!.message, /secret-77/);
        const notice = (await finished(fatal!)).errors[0]!;
        assert.match(notice.message, /^\[redacted: the redact hook threw: the hook itself broke\]$/);
        assert.doesNotMatch(JSON.stringify(notice), /this will never work/, 'not the original error');
        const failedEvents = booted.events.filter((e) => e.type === 'task.failed') as Array<
          WorkerEvent & { error: { message: string } }
        >;
        assert.equal(failedEvents.length, 3);
        assert.ok(failedEvents.every((e) => !/secret-4242|never work/.test(JSON.stringify(e.error))));
        const logged = logger.lines.map((l) => l.message).join('\n');
        assert.match(logged, /card declined: \[secret\]/, 'the dead letter is logged, redacted');
        assert.doesNotMatch(logged, /secret-4242|this will never work/, 'nothing logged unredacted');
      } finally {
        await booted.close();
      }
    });

    it('logs task names and ids from outside escaped and bounded', async () => {
      const queue = queueName();
      const consumer = client({ queue });
      const producer = client({ queue });
      const logger = new CaptureLogger();
      const booted = await bootWith(consumer, { retry: { maxAttempts: 1 } }, logger);
      try {
        const name = `evil\n[ERROR] forged line \u001b[31mred\u001b[0m ${'n'.repeat(1_000_000)}`;
        const id = await producer.enqueue(name, null, { id: `id\r\n${'i'.repeat(100_000)}` });
        await until(async () => (await producer.get(id))?.state === 'failed', 10_000, 'the unknown task to fail');
        const lines = logger.lines.filter((l) => l.message.includes('evil'));
        assert.ok(lines.length >= 1, 'the dead letter is logged');
        for (const { message } of lines) {
          assert.ok(
            !/[\n\r]/.test(message) && !message.includes('\u001b'),
            `control characters in: ${message.slice(0, 120)}`,
          );
          assert.ok(message.length < 3000, `${message.length} characters`);
        }
      } finally {
        await booted.close();
      }
    });
  },
);
