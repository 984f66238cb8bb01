/**
 * The library on @nestjs/platform-fastify, over real HTTP with real threads:
 * the dashboard's page, files, snapshot and live updates (SSE, ended when
 * the app closes), its actions refused without the app's guard and carried
 * out with it, a route that runs its work on a thread, and Terminus's
 * /health up, then down once replacement threads cannot boot. The Express
 * side of the same is dashboard.e2e-spec.ts and terminus.e2e-spec.ts; the
 * stream ending at app.close() is checked on Express here too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FAIL_BOOT_ENV } from '../fixtures/health/health.tasks.js';
import { rejectionOf, until } from '../support/app.js';
import { bootDashboardApp, DASHBOARD_TOKEN, type DashboardApp } from '../support/dashboard.app.js';
import { bootFastifyApp, type FastifyApp } from '../support/fastify.app.js';

const ACTION = { 'x-nestjs-worker-dashboard': '1' };
const AUTH = { authorization: `Bearer ${DASHBOARD_TOKEN}` };

async function post(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers });
  return { status: response.status, body: (await response.json()) as any };
}

async function json(url: string) {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as any };
}

/** An open SSE response: its events' data as they arrive, and how its body ended. */
function watchEvents(response: Response) {
  const events: any[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const ended = (async () => {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n');
        buffer = buffer.slice(end + 2);
        if (data) events.push(JSON.parse(data));
      }
    }
  })();
  // Observed whether or not a test awaits it yet.
  ended.catch(() => undefined);
  return { events, ended };
}

/**
 * Two live updates arrive on an open stream; app.close() then ends it rather
 * than waiting for the page to leave. `signal`: the test's, so a stream that
 * never ends is dropped when the test times out and lets the app close.
 */
async function liveUpdatesEndOnClose(app: DashboardApp, base: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(`${base}/events`, { signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const stream = watchEvents(response);
  await until(() => stream.events.length >= 2, 10_000, 'two live updates');
  assert.ok(stream.events[1].at > stream.events[0].at);
  assert.equal(stream.events[0].stats.workers.size, 2);
  await app.close();
  // Ends, not broken off: a browser's EventSource then reconnects to the next instance.
  await stream.ended;
}

describe('on Fastify: the dashboard, a route that runs a task, and /health', { timeout: 120_000 }, () => {
  let app: FastifyApp;
  let api: string;
  let base: string;
  before(async () => {
    app = await bootFastifyApp();
    api = `${app.origin}/api`;
    base = `${api}/workers`;
  });
  after(async () => {
    delete process.env[FAIL_BOOT_ENV];
    await app?.close();
  });

  it('runs on Fastify, not on Express', () => {
    assert.equal(app.app.getHttpAdapter().getType(), 'fastify');
  });

  it('serves the page with its policy, and its script and style', async () => {
    const response = await fetch(base);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const html = await response.text();
    assert.match(html, /<body data-base="\/api\/workers">/);
    assert.match(html, /src="\/api\/workers\/assets\/dashboard\.js"/);
    for (const [asset, type] of [
      ['dashboard.js', /^text\/javascript/],
      ['dashboard.css', /^text\/css/],
    ] as const) {
      const file = await fetch(`${base}/assets/${asset}`);
      assert.equal(file.status, 200, asset);
      assert.match(file.headers.get('content-type') ?? '', type, asset);
      assert.ok((await file.text()).length > 100, asset);
    }
  });

  it('builds the page on the path it was asked at (global prefix included), whatever the query', async () => {
    assert.match(await (await fetch(`${base}?tab=1`)).text(), /<body data-base="\/api\/workers">/);
  });

  it('answers the snapshot as JSON, offering the actions the guard allows', async () => {
    const response = await fetch(`${base}/state`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    const state = (await response.json()) as any;
    assert.equal(state.stats.workers.size, 2);
    assert.equal(state.stats.loop, 'running');
    assert.deepEqual(state.actions, { pause: true, retry: true, cancel: true });
  });

  it('refuses an action without the guard or the page header, and pauses and resumes with both', async () => {
    const refused = await post(`${base}/actions/pause`, ACTION);
    assert.equal(refused.status, 403);
    const headerless = await post(`${base}/actions/pause`, AUTH);
    assert.equal(headerless.status, 403);
    assert.match(headerless.body.message, /need the header "x-nestjs-worker-dashboard: 1"/);
    assert.equal(app.manager.stats().loop, 'running');
    assert.deepEqual((await post(`${base}/actions/pause`, { ...ACTION, ...AUTH })).body, { loop: 'paused' });
    assert.equal(app.manager.stats().loop, 'paused');
    assert.deepEqual(
      (await post(`${base}/actions/resume`, { ...ACTION, cookie: `dashboard=${DASHBOARD_TOKEN}` })).body,
      { loop: 'running' },
    );
    assert.equal(app.manager.stats().loop, 'running');
  });

  it('cancels a running task, and retries a dead letter, only with the guard', async () => {
    const held = app.client.enqueue('health.hold', { ms: 60_000 });
    await until(() => app.client.get(held)?.state === 'running', 10_000, 'the hold task to run');
    assert.equal((await post(`${base}/actions/tasks/${held}/cancel`, ACTION)).status, 403);
    assert.deepEqual((await post(`${base}/actions/tasks/${held}/cancel`, { ...ACTION, ...AUTH })).body, {
      cancelled: true,
    });
    await until(() => app.client.get(held)?.state === 'cancelled', 10_000, 'the task to be cancelled');

    const failed = app.client.enqueue('health.fail', { message: 'boom' });
    await until(async () => (await app.client.deadLetters()).some((l) => l.id === failed), 10_000, 'the dead letter');
    assert.equal((await post(`${base}/actions/dead-letters/${failed}/retry`, ACTION)).status, 403);
    assert.deepEqual((await post(`${base}/actions/dead-letters/${failed}/retry`, { ...ACTION, ...AUTH })).body, {
      retried: true,
    });
    await until(() => (app.client.get(failed)?.errors.length ?? 0) === 2, 10_000, 'the retried task to fail again');
    const missing = await post(`${base}/actions/dead-letters/nope/retry`, { ...ACTION, ...AUTH });
    assert.equal(missing.status, 404);
  });

  it("returns the thread's result from a route that runs its work with WorkerManager.run()", async () => {
    const completed = app.manager.stats().completed;
    assert.deepEqual(await json(`${api}/offload?n=21`), { status: 200, body: { result: 21 } });
    assert.ok(app.manager.stats().completed > completed, 'a thread ran it');
    assert.equal((await json(`${api}/offload?n=x`)).status, 400);
  });

  it('is healthy while threads run, and down (503) once replacement threads cannot boot', async () => {
    const up = await json(`${api}/health`);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.details.workers.status, 'up');
    assert.deepEqual(up.body.details.workers.threads, { size: 2, alive: 2 });

    // Threads get a copy of the environment when they start: only replacements see it.
    process.env[FAIL_BOOT_ENV] = '1';
    await rejectionOf(app.manager.run('health.exit'));
    let down: { status: number; body: any } | undefined;
    await until(async () => (down = await json(`${api}/health`)).status === 503, 20_000, '/health to answer 503');
    assert.equal(down!.body.error.workers.status, 'down');
    assert.match(down!.body.error.workers.message, /worker threads cannot boot their Nest context/);
  });

  it('streams live updates over SSE, and ends the stream when the app closes', { timeout: 60_000 }, (t) =>
    liveUpdatesEndOnClose(app, base, t.signal),
  );
});

describe('on Express as well', () => {
  let app: DashboardApp;
  before(async () => {
    app = await bootDashboardApp();
  });
  after(() => app?.close());

  it('ends an open live-update stream when the app closes', { timeout: 60_000 }, (t) =>
    liveUpdatesEndOnClose(app, `${app.origin}/workers`, t.signal),
  );
});
