import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import {
  InMemoryTaskClient,
  TASK_CLIENT,
  WorkerModule,
  type RegisteredTask,
  type TaskClient,
  type TaskEnvelope,
  type TaskOutcome,
  type WorkerEvent,
  type WorkerModuleExtras,
  type WorkerModuleOptions,
} from '../../lib/index.js';
import { LoopTasksModule } from '../fixtures/loop.tasks.js';
import { boot, sleep, until, type BootedApp } from '../support/app.js';

const loopTasksFile = new URL('../fixtures/loop.tasks.js', import.meta.url);
const fastRetries = { maxAttempts: 3, backoff: { initialMs: 5, factor: 2, maxMs: 40 } };

async function bootLoopApp(options: WorkerModuleOptions & WorkerModuleExtras = {}): Promise<BootedApp> {
  @Module({
    imports: [
      LoopTasksModule,
      WorkerModule.forRoot({
        tasksModule: { module: LoopTasksModule, file: loopTasksFile },
        workers: 2,
        retry: fastRetries,
        ...options,
      }),
    ],
  })
  class LoopAppModule {}
  return boot(LoopAppModule);
}

/** The smallest TaskClient: a fixed list of echo tasks, results collected. */
@Injectable()
class StubClient implements TaskClient {
  private readonly pending: TaskEnvelope[] = Array.from({ length: 100 }, (_, i) => ({
    id: `t${i}`,
    name: 'echo',
    payload: `task # ${i}`,
    attempt: 1,
  }));
  readonly results = new Map<string, unknown>();
  readonly statuses: string[] = [];

  async fetch(max: number): Promise<readonly TaskEnvelope[]> {
    return this.pending.splice(0, max);
  }

  async publish(outcomes: readonly TaskOutcome[]): Promise<void> {
    for (const outcome of outcomes) {
      this.statuses.push(outcome.status);
      if (outcome.status === 'completed') this.results.set(outcome.task.id, outcome.result);
    }
  }
}

describe('worker loop over a fixed list of tasks', () => {
  it('runs a StubClient: 100 echo tasks, all completed and published', async () => {
    const booted = await bootLoopApp({ client: StubClient });
    try {
      const stub = booted.app.get(StubClient);
      assert.equal(booted.app.get(TASK_CLIENT), stub);
      await until(() => stub.results.size === 100, 10_000, '100 results');
      for (let i = 0; i < 100; i++) assert.equal(stub.results.get(`t${i}`), `task # ${i}`);
      assert.ok(stub.statuses.every((s) => s === 'completed'));
    } finally {
      await booted.close();
    }
  });
});

describe('worker loop over the in-memory client', () => {
  let booted: BootedApp;
  let client: InMemoryTaskClient;
  before(async () => {
    booted = await bootLoopApp();
    client = booted.app.get(InMemoryTaskClient);
  });
  after(() => booted.close());

  it('completes enqueued tasks and keeps their results', async () => {
    const ids = client.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ name: 'add', payload: { a: i, b: 1 } })));
    const records = await Promise.all(ids.map((id) => client.waitFor<number>(id)));
    assert.deepEqual(
      records.map((r) => r.result),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.ok(records.every((r) => r.state === 'completed' && r.attempt === 1));
  });

  it('retries a failing task with backoff until it succeeds', async () => {
    const record = await client.waitFor(client.enqueue('flaky', { succeedOn: 3 }));
    assert.equal(record.state, 'completed');
    assert.equal(record.result, 'succeeded on attempt 3');
    assert.equal(record.errors.length, 2);
    assert.deepEqual(
      record.errors.map((e) => e.name),
      ['TransientError', 'TransientError'],
    );
  });

  it("fails a task for good after maxAttempts, keeping every attempt's error (dead letter)", async () => {
    const record = await client.waitFor(client.enqueue('decline', { code: 'stolen' }));
    assert.equal(record.state, 'failed');
    assert.equal(record.failureReason, 'error');
    assert.equal(record.attempt, 3);
    assert.equal(record.errors.length, 3);
    assert.ok(record.errors.every((e) => e.name === 'PaymentDeclinedError' && e.props?.declineCode === 'stolen'));
  });

  it('honours a per-task maxAttempts given at enqueue', async () => {
    const record = await client.waitFor(client.enqueue('flaky', { succeedOn: 5 }, { maxAttempts: 5 }));
    assert.equal(record.state, 'completed');
    assert.equal(record.errors.length, 4);
  });

  it('never retries NonRetryableError, nor errors a retryIf predicate refuses', async () => {
    const fatal = await client.waitFor(client.enqueue('fatal', null));
    assert.equal(fatal.state, 'failed');
    assert.equal(fatal.errors.length, 1);
    const refused = await client.waitFor(client.enqueue('picky', { transient: false }));
    assert.equal(refused.errors.length, 1);
    assert.equal(refused.errors[0]!.name, 'RangeError');
    const retried = await client.waitFor(client.enqueue('picky', { transient: true }));
    assert.equal(retried.errors.length, 3);
  });

  it('times out a runaway handler, says so, and retries it like any failure', async () => {
    const record = await client.waitFor(client.enqueue('spin-once', null));
    assert.equal(record.state, 'failed');
    assert.equal(record.failureReason, 'timeout');
    assert.equal(record.errors.length, 2);
    assert.equal(record.errors[0]!.code, 'ERR_WORKER_TASK_TIMEOUT');
  });

  it('retries a task that crashed its thread; the others are not affected', async () => {
    const ids = client.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ name: 'add', payload: { a: i, b: 0 } })));
    const crashing = client.enqueue('exit', null);
    const crashed = await client.waitFor(crashing);
    assert.equal(crashed.failureReason, 'crash');
    assert.equal(crashed.errors.length, 3);
    assert.equal(crashed.errors[0]!.code, 'ERR_WORKER_THREAD_CRASHED');
    const others = await Promise.all(ids.map((id) => client.waitFor(id)));
    assert.ok(others.every((r) => r.state === 'completed' && r.errors.length === 0));
    assert.equal(booted.manager.stats().workers.alive, 2);
  });

  it('fails bad input at once, never retried: unknown task, uncloneable payload, schema mismatch', async () => {
    const unknown = await client.waitFor(client.enqueue('no-such-task', 1));
    assert.equal(unknown.failureReason, 'unknown-task');
    assert.equal(unknown.errors.length, 1);
    assert.match(unknown.errors[0]!.message, /Unknown task "no-such-task"/);

    const uncloneable = await client.waitFor(client.enqueue('echo', { socket: new (class Socket {})(), cb: () => 1 }));
    assert.equal(uncloneable.failureReason, 'invalid-payload');
    assert.equal(uncloneable.errors.length, 1);
    assert.match(
      uncloneable.errors[0]!.message,
      /Task "echo": the payload cannot be sent between threads: payload\.cb is a function/,
    );

    const invalid = await client.waitFor(client.enqueue('resize', { width: 10, height: 'tall' }));
    assert.equal(invalid.failureReason, 'invalid-payload');
    assert.equal(invalid.errors.length, 1);
    assert.match(
      invalid.errors[0]!.message,
      /Task "resize": the payload does not match the task's schema: height: must be a number/,
    );
    assert.equal((await client.waitFor(client.enqueue('resize', { width: 10, height: 20 }))).result, 200);
  });

  it('runs higher priorities first and delayed tasks no earlier than asked', async () => {
    booted.manager.pause();
    const low = client.enqueue('whoami', null, { priority: 0 });
    const high = client.enqueue('whoami', null, { priority: 10 });
    const delayedAt = Date.now();
    const delayed = client.enqueue('add', { a: 1, b: 1 }, { delayMs: 300 });
    assert.equal(client.get(delayed)!.state, 'delayed');
    await sleep(50);
    assert.equal(client.get(low)!.state, 'queued', 'paused: nothing fetched');
    booted.manager.resume();
    const [lowRecord, highRecord] = await Promise.all([client.waitFor(low), client.waitFor(high)]);
    assert.ok(highRecord.finishedAt! <= lowRecord.finishedAt!);
    const delayedRecord = await client.waitFor(delayed);
    assert.ok(delayedRecord.finishedAt! - delayedAt >= 290, `ran after ${delayedRecord.finishedAt! - delayedAt} ms`);
  });

  it('emits typed events with id, name, attempt and timings', async () => {
    const events: WorkerEvent[] = [];
    const sub = booted.manager.events$.subscribe((e) => events.push(e));
    const id = client.enqueue('flaky', { succeedOn: 2 });
    await client.waitFor(id);
    sub.unsubscribe();
    const mine = events.filter((e) => 'taskId' in e && e.taskId === id);
    const types = mine.map((e) => `${e.type}@${(e as { attempt: number }).attempt}`);
    assert.deepEqual(
      types.filter((t) => !t.startsWith('task.started')),
      ['task.fetched@1', 'task.retrying@1', 'task.fetched@2', 'task.completed@2'],
    );
    const completed = mine.find((e) => e.type === 'task.completed') as Extract<WorkerEvent, { type: 'task.completed' }>;
    assert.equal(completed.name, 'flaky');
    assert.equal(typeof completed.durationMs, 'number');
    const retrying = mine.find((e) => e.type === 'task.retrying') as Extract<WorkerEvent, { type: 'task.retrying' }>;
    assert.ok(retrying.delayMs >= 0 && retrying.delayMs <= 40);
    assert.equal(retrying.nextAttempt, 2);
  });
});

describe('worker loop: idle backoff and wake-up', () => {
  /** An empty source that counts how often it is asked. */
  class EmptyClient implements TaskClient {
    calls = 0;
    async fetch(): Promise<readonly TaskEnvelope[]> {
      this.calls++;
      return [];
    }
    async publish(): Promise<void> {}
  }

  it('asks an empty source only a few times a second and uses almost no CPU', async () => {
    const empty = new EmptyClient();
    const booted = await bootLoopApp({ client: { useValue: empty } });
    try {
      await sleep(1500); // let the backoff reach its ceiling
      const calls = empty.calls;
      const cpu = process.cpuUsage();
      const started = performance.now();
      await sleep(2000);
      const used = process.cpuUsage(cpu);
      const wall = performance.now() - started;
      const share = (used.user + used.system) / 1000 / wall;
      const rate = ((empty.calls - calls) * 1000) / wall;
      assert.ok(rate <= 3, `${rate.toFixed(1)} fetches/s while idle`);
      assert.ok(share < 0.05, `${(share * 100).toFixed(2)}% of a core while idle`);
    } finally {
      await booted.close();
    }
  });

  it('wakes at once when a task is enqueued locally, even after a long idle spell', async () => {
    const booted = await bootLoopApp();
    try {
      const client = booted.app.get(InMemoryTaskClient);
      await sleep(1500);
      const started = Date.now();
      await client.waitFor(client.enqueue('add', { a: 1, b: 2 }));
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 500, `picked up after ${elapsed} ms`);
    } finally {
      await booted.close();
    }
  });

  it('does not start the loop when loop.autoStart is false, until start()', async () => {
    const booted = await bootLoopApp({ loop: { autoStart: false } });
    try {
      const client = booted.app.get(InMemoryTaskClient);
      const id = client.enqueue('add', { a: 2, b: 2 });
      await sleep(100);
      assert.equal(client.get(id)!.state, 'queued');
      booted.manager.start();
      assert.equal((await client.waitFor(id)).result, 4);
    } finally {
      await booted.close();
    }
  });
});

describe('worker loop: durable-client hooks', () => {
  /** A client that long-polls and ignores the abort, as a slow server might. */
  class LongPollClient implements TaskClient {
    private waiting?: (tasks: TaskEnvelope[]) => void;
    private backlog: TaskEnvelope[] = [];
    readonly outcomes: TaskOutcome[] = [];
    fetch(max: number): Promise<readonly TaskEnvelope[]> {
      if (this.backlog.length > 0) return Promise.resolve(this.backlog.splice(0, max));
      return new Promise((resolve) => (this.waiting = resolve));
    }
    push(tasks: TaskEnvelope[]): void {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(tasks);
      else this.backlog.push(...tasks);
    }
    async publish(outcomes: readonly TaskOutcome[]): Promise<void> {
      this.outcomes.push(...outcomes);
      for (const o of outcomes) if (o.status === 'released') this.backlog.push(o.task);
    }
  }

  it('pause() aborts a long poll; tasks that still arrive are handed back, not run', async () => {
    const client = new LongPollClient();
    const booted = await bootLoopApp({ client: { useValue: client } });
    try {
      await sleep(50);
      booted.manager.pause();
      client.push([{ id: 'late', name: 'add', payload: { a: 1, b: 2 }, attempt: 1 }]);
      await until(() => client.outcomes.length === 1, 5000, 'the late task to be released');
      assert.equal(client.outcomes[0]!.status, 'released');
      booted.manager.resume();
      await until(
        () => client.outcomes.some((o) => o.status === 'completed'),
        5000,
        'the task to complete after resume',
      );
    } finally {
      await booted.close();
    }
  });

  it('registers every task with the attempts it is allowed, once, before the first fetch', async () => {
    class RegisteringClient implements TaskClient {
      registrations: RegisteredTask[][] = [];
      fetches = 0;
      fetchedUnregistered = false;
      registerTasks(tasks: readonly RegisteredTask[]): void {
        this.registrations.push([...tasks]);
      }
      async fetch(): Promise<readonly TaskEnvelope[]> {
        if (this.registrations.length === 0) this.fetchedUnregistered = true;
        this.fetches++;
        return [];
      }
      async publish(): Promise<void> {}
    }
    const client = new RegisteringClient();
    const booted = await bootLoopApp({ client: { useValue: client } });
    try {
      await until(() => client.fetches > 1, 5000, 'a few fetches');
      assert.equal(client.fetchedUnregistered, false);
      assert.equal(client.registrations.length, 1);
      const attempts = new Map(client.registrations[0]!.map((t) => [t.name, t.maxAttempts]));
      assert.equal(attempts.get('spin-once'), 2, '@Task({ maxAttempts })');
      assert.equal(attempts.get('flaky'), fastRetries.maxAttempts, "the module's retry.maxAttempts");
      assert.deepEqual(
        [...attempts.keys()].sort(),
        booted.manager
          .tasks()
          .map((t) => t.name)
          .sort(),
      );
    } finally {
      await booted.close();
    }
  });

  it('lists schemas and predicates of tasks the application declares itself', async () => {
    const booted = await bootLoopApp({ loop: { autoStart: false } });
    try {
      const resize = booted.manager.tasks().find((t) => t.name === 'resize');
      assert.equal(typeof resize?.options.schema?.['~standard'].validate, 'function');
      assert.equal(typeof booted.manager.tasks().find((t) => t.name === 'picky')?.options.retryIf, 'function');
    } finally {
      await booted.close();
    }
  });

  it('keeps extending the lease of a finished task until its outcome is published', async () => {
    class SlowPublishClient implements TaskClient {
      readonly leaseMs = 90;
      private sent = false;
      readonly extended = new Map<string, number>();
      publishedAt?: number;
      async fetch(): Promise<readonly TaskEnvelope[]> {
        if (this.sent) return [];
        this.sent = true;
        return [{ id: 'slow', name: 'add', payload: { a: 1, b: 1 }, attempt: 1 }];
      }
      async extendLeases(tasks: readonly TaskEnvelope[]): Promise<void> {
        for (const t of tasks) this.extended.set(t.id, (this.extended.get(t.id) ?? 0) + 1);
      }
      async publish(): Promise<void> {
        await sleep(400); // a slow database
        this.publishedAt = Date.now();
      }
    }
    const client = new SlowPublishClient();
    const booted = await bootLoopApp({ client: { useValue: client } });
    try {
      await until(() => client.publishedAt !== undefined, 5000, 'the publish');
      // The task finished within milliseconds; the publish took 400 ms with a 90 ms lease.
      assert.ok((client.extended.get('slow') ?? 0) >= 3, `extended ${client.extended.get('slow') ?? 0} times`);
    } finally {
      await booted.close();
    }
  });
});
