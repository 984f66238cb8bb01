/**
 * nestjs-worker/dashboard over HTTP, without a browser (the browser suite is
 * dashboard.browser.e2e-spec.ts): options checked at bootstrap; the page and
 * its data below the configured path and the app's global prefix; actions
 * refused without a guard, without the page's header and by the app's guard,
 * and carried out with its consent; reads behind readGuard; live updates
 * over SSE, with the manager's events watched only while a page is open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkerDashboardModule } from '../../lib/dashboard.js';
import { WorkerOrchestrator } from '../../lib/worker.orchestrator.js';
import { until } from '../support/app.js';
import { bootDashboardApp, DASHBOARD_TOKEN, TokenGuard, type DashboardApp } from '../support/dashboard.app.js';

const ACTION = { 'x-nestjs-worker-dashboard': '1' };
const AUTH = { authorization: `Bearer ${DASHBOARD_TOKEN}` };

async function post(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers });
  return { status: response.status, body: (await response.json()) as any };
}

/** Reads server-sent events from `url` until `count` arrived; returns their data. */
async function readEvents(url: string, count: number, headers: Record<string, string> = {}): Promise<any[]> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: any[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n');
        if (data) events.push(JSON.parse(data));
      }
      if (events.length >= count) break;
    }
  } finally {
    controller.abort();
  }
  return events;
}

describe('WorkerDashboardModule.forRoot() options', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'a path with a parameter',
      { path: 'workers/:id' },
      /option "path" must be a URL path .* got "workers\/:id"\. Give a plain path/,
    ],
    ['a path that climbs', { path: '../admin' }, /option "path" must be a URL path/],
    [
      'a guard that is not one',
      { guard: 'AdminGuard' },
      /option "guard" must be a guard class or an object with canActivate\(\), got string/,
    ],
    ['an interval below 250 ms', { intervalMs: 10 }, /option "intervalMs" must be an integer of at least 250, got 10/],
    ['an unknown option', { gaurd: class {} }, /option "gaurd" is not an option\. Use path, guard, readGuard/],
  ];
  for (const [what, options, message] of cases) {
    it(`refuses ${what}, naming the option and the fix`, () => {
      assert.throws(
        () => WorkerDashboardModule.forRoot(options as never),
        (error: any) => error.code === 'ERR_WORKER_INVALID_DASHBOARD_OPTIONS' && message.test(error.message),
      );
    });
  }
});

describe('the dashboard without a guard', () => {
  let app: DashboardApp;
  before(async () => {
    app = await bootDashboardApp();
  });
  after(() => app?.close());

  it('serves the page at /workers with its own script and style only', async () => {
    const response = await fetch(`${app.origin}/workers`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await response.text();
    assert.match(html, /<body data-base="\/workers">/);
    assert.match(html, /src="\/workers\/assets\/dashboard\.js"/);
    for (const asset of ['dashboard.js', 'dashboard.css']) {
      const file = await fetch(`${app.origin}/workers/assets/${asset}`);
      assert.equal(file.status, 200, asset);
      assert.ok((await file.text()).length > 100, asset);
    }
  });

  it('offers no action, and refuses each with 403 saying how to allow them', async () => {
    const state = (await (await fetch(`${app.origin}/workers/state`)).json()) as any;
    assert.deepEqual(state.actions, { pause: false, retry: false, cancel: false });
    assert.equal(state.stats.workers.size, 2);
    for (const path of ['actions/pause', 'actions/resume', 'actions/dead-letters/x/retry', 'actions/tasks/x/cancel']) {
      const { status, body } = await post(`${app.origin}/workers/${path}`, { ...ACTION, ...AUTH });
      assert.equal(status, 403, path);
      assert.match(body.message, /Dashboard actions are disabled: .* Pass guard: YourAdminGuard/, path);
    }
    assert.equal(app.manager.stats().loop, 'running');
  });

  it('sends live updates over SSE while a page watches, and stops watching events when it leaves', async () => {
    const orchestrator = app.app.get(WorkerOrchestrator, { strict: false });
    assert.equal(orchestrator.sink.enabled, false, 'nobody watches yet');
    const reading = readEvents(`${app.origin}/workers/events`, 3);
    await until(() => orchestrator.sink.enabled, 10_000, 'the dashboard to watch the events');
    await app.manager.run('health.ok');
    const events = await reading;
    assert.equal(events.length, 3);
    for (const event of events) assert.equal(event.stats.workers.size, 2);
    assert.ok(events[2].at > events[0].at);
    await until(() => !orchestrator.sink.enabled, 10_000, 'the dashboard to stop watching once the page left');
  });
});

describe('the dashboard with a guard, a read guard and a global prefix', () => {
  let app: DashboardApp;
  let base: string;
  before(async () => {
    app = await bootDashboardApp({
      globalPrefix: 'api',
      dashboard: { path: '/admin/workers/', guard: TokenGuard, readGuard: TokenGuard },
    });
    base = `${app.origin}/api/admin/workers`;
  });
  after(() => app?.close());

  it('serves below the global prefix and the path, to readers the read guard admits', async () => {
    assert.equal((await fetch(`${base}/state`)).status, 403);
    assert.equal((await fetch(base)).status, 403);
    const page = await fetch(base, { headers: AUTH });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-base="\/api\/admin\/workers"/);
    const state = (await (await fetch(`${base}/state`, { headers: AUTH })).json()) as any;
    assert.deepEqual(state.actions, { pause: true, retry: true, cancel: true });
  });

  it('refuses an action without the page header or the guard, and pauses and resumes with both', async () => {
    assert.equal((await post(`${base}/actions/pause`, AUTH)).status, 403);
    assert.match(
      (await post(`${base}/actions/pause`, AUTH)).body.message,
      /need the header "x-nestjs-worker-dashboard: 1"/,
    );
    assert.equal((await post(`${base}/actions/pause`, { ...ACTION, cookie: 'dashboard=nope' })).status, 403);
    assert.equal(app.manager.stats().loop, 'running');
    assert.deepEqual(
      (await post(`${base}/actions/pause`, { ...ACTION, cookie: `dashboard=${DASHBOARD_TOKEN}` })).body,
      {
        loop: 'paused',
      },
    );
    assert.equal(app.manager.stats().loop, 'paused');
    assert.deepEqual((await post(`${base}/actions/resume`, { ...ACTION, ...AUTH })).body, { loop: 'running' });
  });

  it('retries a dead letter through the store, and answers 404 for one it does not have', async () => {
    const id = app.client.enqueue('health.fail', { message: 'boom' });
    await until(async () => (await app.client.deadLetters()).some((l) => l.id === id), 10_000, 'the dead letter');
    const state = (await (await fetch(`${base}/state`, { headers: AUTH })).json()) as any;
    const letter = state.store.deadLetters.find((l: any) => l.id === id);
    assert.equal(letter.error.message, 'boom');
    assert.equal(letter.error.name, 'HostileError<b>');
    assert.deepEqual((await post(`${base}/actions/dead-letters/${id}/retry`, { ...ACTION, ...AUTH })).body, {
      retried: true,
    });
    await until(() => (app.client.get(id)?.errors.length ?? 0) === 2, 10_000, 'the retried task to fail again');
    const missing = await post(`${base}/actions/dead-letters/nope/retry`, { ...ACTION, ...AUTH });
    assert.equal(missing.status, 404);
    assert.match(missing.body.message, /No such dead letter/);
  });
});
