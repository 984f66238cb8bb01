/**
 * nestjs-worker/terminus: WorkerHealthIndicator in a real Nest HTTP app with
 * Terminus and real worker threads — up; down when a task holds the pool and
 * nothing finishes (stuck), when the loop's fetch hangs with tasks ready in
 * the store, when the store does not answer, when replacement threads cannot
 * boot their Nest context; thresholds checked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InMemoryTaskClient, type TaskCounts, type TaskEnvelope } from '../../lib/index.js';
import { FAIL_BOOT_ENV } from '../fixtures/health/health.tasks.js';
import { rejectionOf, until } from '../support/app.js';
import { bootHealthApp, type HealthApp } from '../support/health.app.js';

/** The in-memory client, with a switch to make counts() or fetch() never answer (a store that hangs). */
class ControlledClient extends InMemoryTaskClient {
  hangCounts = false;
  hangFetch = false;

  override counts(): TaskCounts {
    if (this.hangCounts) return new Promise<never>(() => undefined) as unknown as TaskCounts;
    return super.counts();
  }

  override async fetch(max: number, signal?: AbortSignal): Promise<readonly TaskEnvelope[]> {
    if (!this.hangFetch) return super.fetch(max);
    // Hangs until the loop gives up on it (shutdown): a network call that never returns.
    return new Promise((resolve) => signal?.addEventListener('abort', () => resolve([]), { once: true }));
  }
}

/** GET /health until it answers with `status` and its body matches `pattern`; returns that body. */
async function healthUntil(app: HealthApp, status: number, pattern: RegExp, what: string): Promise<any> {
  let last: { status: number; body: any } | undefined;
  try {
    await until(
      async () => {
        last = await app.health();
        return last.status === status && pattern.test(JSON.stringify(last.body));
      },
      20_000,
      what,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last answer: ${JSON.stringify(last)}`, { cause: error });
  }
  return last!.body;
}

describe('WorkerHealthIndicator with the in-memory client and real threads', () => {
  let app: HealthApp;

  before(async () => {
    app = await bootHealthApp({ workers: 1 });
  });
  after(async () => {
    delete process.env[FAIL_BOOT_ENV];
    await app?.close();
  });

  it('is up with the pool figures while threads run tasks', async () => {
    assert.equal(await app.manager.run('health.ok', { n: 2 }), 2);
    const { status, body } = await app.health();
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ok');
    const workers = body.details.workers;
    assert.equal(workers.status, 'up');
    assert.deepEqual(workers.threads, { size: 1, alive: 1 });
    assert.equal(workers.loop, 'running');
    assert.equal(workers.store, 'up');
    assert.equal(typeof workers.utilization, 'number');
  });

  it('refuses a threshold that is not a non-negative integer, naming the option and the fix', async () => {
    const error = await rejectionOf(app.indicator.isHealthy('workers', { stuckAfterMs: -5 }));
    assert.equal(error.code, 'ERR_WORKER_INVALID_HEALTH_OPTIONS');
    assert.match(
      error.message,
      /"stuckAfterMs" must be a non-negative integer, got -5\. Give a number of milliseconds/,
    );
    const typo = await rejectionOf(app.indicator.isHealthy('workers', { stuckAfter: 5 } as never));
    assert.match(typo.message, /"stuckAfter" is not an option\. Use minAliveThreads, stuckAfterMs/);
  });

  it('is down (503) as stuck while a task holds the only thread and nothing finishes, and up once it ends', async () => {
    app.options.stuckAfterMs = 300;
    const controller = new AbortController();
    const held = app.manager.run('health.hold', { ms: 60_000 }, { signal: controller.signal });
    try {
      await until(() => app.manager.stats().running === 1, 10_000, 'the hold task to run');
      const body = await healthUntil(app, 503, /stuck: 1 running/, 'the indicator to call the pool stuck');
      assert.equal(body.status, 'error');
      assert.equal(body.error.workers.status, 'down');
      assert.match(body.error.workers.message, /no task finished for \d+ s/);
    } finally {
      controller.abort();
      await held.catch(() => undefined);
    }
    await healthUntil(app, 200, /"status":"up"/, 'the indicator to be up once the task ended');
    delete app.options.stuckAfterMs;
  });

  it('is down while replacement threads cannot boot their Nest context, saying so', async () => {
    // Threads get a copy of the environment when they start: only replacements see it.
    process.env[FAIL_BOOT_ENV] = '1';
    await rejectionOf(app.manager.run('health.exit'));
    const body = await healthUntil(app, 503, /cannot boot their Nest context/, 'the boot failures to show');
    assert.match(body.error.workers.message, /worker threads cannot boot their Nest context \(\d+ failed since start/);
    assert.ok(app.manager.stats().workers.bootFailures >= 1);
  });
});

describe('WorkerHealthIndicator with a store that hangs', () => {
  let app: HealthApp;
  let client: ControlledClient;

  before(async () => {
    client = new ControlledClient();
    app = await bootHealthApp({ client: { useValue: client }, options: { storeTimeoutMs: 200 } });
  });
  after(async () => {
    client.hangCounts = false;
    client.hangFetch = false;
    await app?.close();
  });

  it('is down when the store does not answer counts() in time, and up when it answers again', async () => {
    assert.equal((await app.health()).status, 200);
    client.hangCounts = true;
    const { status, body } = await app.health();
    assert.equal(status, 503, JSON.stringify(body));
    assert.equal(body.error.workers.store, 'down');
    assert.match(body.error.workers.message, /the task store does not answer: no answer within 200 ms/);
    client.hangCounts = false;
    assert.equal((await app.health()).status, 200);
  });

  it('is down as stuck when the loop no longer fetches while tasks are ready in the store', async () => {
    app.options.stuckAfterMs = 300;
    client.hangFetch = true;
    // Whatever fetch was in flight returns; the next one hangs. Then the tasks arrive.
    await until(() => true);
    client.enqueue('health.ok', { n: 1 });
    client.enqueue('health.ok', { n: 2 });
    const body = await healthUntil(app, 503, /ready in the store/, 'the indicator to see the loop stuck');
    assert.match(body.error.workers.message, /stuck: 0 running, 0 queued in the pool and 2 ready in the store/);
    delete app.options.stuckAfterMs;
  });
});
