/**
 * Rate limits and concurrency keys with real worker threads on the
 * in-memory client: what runs at once is observed from inside the handlers
 * (counters in a SharedArrayBuffer that every thread shares), and what the
 * store granted from a recording subclass. The cross-process cases run on
 * PostgreSQL and Redis (their suites, with the conformance cases).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Module, type Type } from '@nestjs/common';
import {
  InMemoryTaskClient,
  Task,
  WorkerModule,
  type PermitAnswer,
  type PermitRequest,
  type WorkerModuleExtras,
  type WorkerModuleOptions,
} from '../../lib/index.js';
import { boot, rejectionOf, type BootedApp } from '../support/app.js';
import { LimitedTasksModule } from '../fixtures/job-control.tasks.js';

const tasksFile = new URL('../fixtures/job-control.tasks.js', import.meta.url);

/** Records when each permit was granted, per task name. */
class RecordingClient extends InMemoryTaskClient {
  readonly grants: Array<{ name: string; id: string; at: number }> = [];
  denials = 0;

  override async acquirePermits(requests: readonly PermitRequest[]): Promise<readonly PermitAnswer[]> {
    const answers = await super.acquirePermits(requests);
    const at = Date.now();
    answers.forEach((answer, i) => {
      if (answer.granted) this.grants.push({ name: requests[i]!.task.name, id: requests[i]!.task.id, at });
      else this.denials++;
    });
    return answers;
  }
}

async function bootWith(
  tasks: Type,
  options: WorkerModuleOptions & Partial<WorkerModuleExtras>,
  logger: false | ['error'] = ['error'],
): Promise<BootedApp> {
  @Module({
    imports: [tasks, WorkerModule.forRoot({ tasksModule: { module: tasks, file: tasksFile }, workers: 4, ...options })],
  })
  class LimitsAppModule {}
  return boot(LimitsAppModule, logger);
}

describe('concurrency keys', () => {
  it('never more than concurrencyPerKey of a key run at once, across two apps; other keys go on', async () => {
    const client = new RecordingClient();
    const keys = 3;
    const counters = new SharedArrayBuffer(4 * (keys * 2 + 2));
    const apps = [
      await bootWith(LimitedTasksModule, { client: { useValue: client } }),
      await bootWith(LimitedTasksModule, { client: { useValue: client } }),
    ];
    try {
      // Key 0 has a backlog; keys 1 and 2 come after it in the queue.
      const backlog = Array.from({ length: 16 }, () => ({ key: 0 }));
      const others = Array.from({ length: 4 }, (_, i) => ({ key: 1 + (i % 2) }));
      const ids = client.enqueueMany(
        [...backlog, ...others].map(({ key }) => ({
          name: 'limits.keyed',
          payload: { key, keys, counters, ms: 40 },
          concurrencyKey: `tenant-${key}`,
        })),
      );
      const records = await Promise.all(ids.map((id) => client.waitFor(id, AbortSignal.timeout(60_000))));
      const view = new Int32Array(counters);
      for (let key = 0; key < keys; key++) {
        assert.ok(view[key * 2 + 1]! <= 2, `key ${key}: at most 2 at once, saw ${view[key * 2 + 1]}`);
        assert.equal(view[key * 2], 0, `key ${key}: none left running`);
      }
      assert.equal(view[1], 2, 'the backlogged key used both of its permits');
      for (const record of records) {
        assert.equal(record.state, 'completed');
        assert.equal(record.attempt, 1, 'waiting for a permit costs no attempt');
        assert.deepEqual(record.errors, []);
      }
      // Other keys were not stuck behind the backlog: they finished before it did.
      const lastOf = (from: number, to: number) => Math.max(...records.slice(from, to).map((r) => r.finishedAt!));
      assert.ok(lastOf(16, 20) < lastOf(0, 16), 'keys 1 and 2 finished before the backlog of key 0');
      assert.ok(client.denials > 0, 'some deliveries waited for a permit');
      assert.ok(apps.every((app) => app.manager.stats().loop === 'running'));
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });

  it('a task without a concurrencyKey, or without limits, is never held back', async () => {
    const client = new RecordingClient();
    const app = await bootWith(LimitedTasksModule, { client: { useValue: client } });
    try {
      const counters = new SharedArrayBuffer(4 * 4);
      const ids = [
        client.enqueue('limits.keyed', { key: 0, keys: 1, counters, ms: 1 }),
        client.enqueue('limits.plain', 7),
      ];
      for (const id of ids) await client.waitFor(id, AbortSignal.timeout(20_000));
      assert.deepEqual(client.grants, [], 'no permit was asked for');
    } finally {
      await app.close();
    }
  });
});

describe('rate limits', () => {
  it('at most max starts per sliding interval; tasks over the limit wait and all complete', async () => {
    const client = new RecordingClient();
    const apps = [
      await bootWith(LimitedTasksModule, { client: { useValue: client } }),
      await bootWith(LimitedTasksModule, { client: { useValue: client } }),
    ];
    try {
      const ids = client.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ name: 'limits.rated', payload: i })));
      const records = await Promise.all(ids.map((id) => client.waitFor(id, AbortSignal.timeout(60_000))));
      for (const record of records) {
        assert.equal(record.state, 'completed');
        assert.equal(record.attempt, 1);
      }
      const grants = client.grants.filter((g) => g.name === 'limits.rated').map((g) => g.at);
      assert.equal(grants.length, 10, 'every start was granted once');
      // The store's clock decides: within any 600 ms, at most 3 grants (max 3 per intervalMs 600).
      // Read here a moment after the store's own Date.now(): a millisecond either way is the reading, not the store.
      grants.sort((a, b) => a - b);
      for (let i = 3; i < grants.length; i++) {
        assert.ok(
          grants[i]! - grants[i - 3]! >= 600 - 1,
          `grants ${i - 3} and ${i} are ${grants[i]! - grants[i - 3]!} ms apart`,
        );
      }
      // Each result is the handler's start time: none started before its grant.
      const started = records.map((r) => r.result as number).sort((a, b) => a - b);
      for (let i = 0; i < started.length; i++) assert.ok(started[i]! >= grants[i]!);
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });
});

describe('limits at bootstrap', () => {
  it('bad rateLimit or concurrencyPerKey is refused where @Task is declared, naming the task', () => {
    const declare = (options: object) => () => {
      class Tasks {
        @Task('limits.bad', options)
        run(): void {}
      }
      return Tasks;
    };
    for (const [options, path] of [
      [{ rateLimit: { max: 0, intervalMs: 1000 } }, 'rateLimit.max'],
      [{ rateLimit: { max: 1 } }, 'rateLimit'],
      [{ rateLimit: { max: 1, intervalMs: 1.5 } }, 'rateLimit.intervalMs'],
      [{ concurrencyPerKey: 0 }, 'concurrencyPerKey'],
      [{ schedule: { cron: '' } }, 'schedule.cron'],
      [{ schedule: { cron: '0 6 * * *', catchUp: 'all' } }, 'schedule.catchUp'],
    ] as const) {
      assert.throws(declare(options), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_WORKER_INVALID_TASK_OPTIONS');
        assert.match(error.message, new RegExp(`@Task\\("limits\\.bad"\\) option "${path.replace('.', '\\.')}"`));
        return true;
      });
    }
  });

  it('a task with limits on a client without acquirePermits() fails the boot naming the tasks', async () => {
    class NoPermits extends InMemoryTaskClient {
      constructor() {
        super();
        Object.defineProperty(this, 'acquirePermits', { value: undefined });
      }
    }
    const error = await rejectionOf(bootWith(LimitedTasksModule, { client: NoPermits }, false));
    assert.equal(error.code, 'ERR_WORKER_TASK_LIMITS_UNSUPPORTED');
    assert.match(error.message, /"limits\.keyed", "limits\.rated".*NoPermits.*acquirePermits/s);
  });
});
