/**
 * The sample app's observability wiring, in its own process: OTEL_CONSOLE=1
 * prints a span per task attempt (nestjs-worker/otel with the SDK's console
 * exporter), /health/ready is Terminus with WorkerHealthIndicator and
 * /health carries its verdict, and /workers serves the dashboard: behind
 * HTTP Basic with DASHBOARD_PASSWORD, actions refused without it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { until } from '../support/app.js';
import { buildSampleApp, startSampleApp, type SampleApp } from '../fixtures/sample-app/harness.js';

const ACTION = { 'x-nestjs-worker-dashboard': '1' };

describe('the sample app with OTEL_CONSOLE=1 and DASHBOARD_PASSWORD', () => {
  let app: SampleApp;
  const admin = { authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` };

  before(async () => {
    buildSampleApp();
    app = await startSampleApp({ WORKERS: '2', OTEL_CONSOLE: '1', DASHBOARD_PASSWORD: 's3cret' });
  });
  after(() => app?.kill());

  it('prints a span for a task attempt to the console', async () => {
    const hashed = await app.request('POST', '/run/password.hash', { password: 'hunter2', cost: 14 });
    assert.equal(hashed.status, 200, JSON.stringify(hashed.body));
    await until(
      () => /name: 'run password\.hash'/.test(app.output()),
      10_000,
      'the console exporter to print the span',
    );
    assert.match(app.output(), /'nestjs_worker\.task\.name': 'password\.hash'|task\.name': 'password\.hash'/);
  });

  it('answers /health/ready with the indicator, and /health with its verdict', async () => {
    const ready = await app.request('GET', '/health/ready');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.details.workers.status, 'up');
    assert.deepEqual(ready.body.details.workers.threads, { size: 2, alive: 2 });
    const health = await app.request('GET', '/health');
    assert.deepEqual(health.body.check, { status: 'up' });
  });

  it('serves the dashboard at /workers to "admin" only, and lets "admin" pause and resume', async () => {
    const anonymous = await fetch(`${app.url}/workers`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm="workers"/);
    const page = await fetch(`${app.url}/workers`, { headers: admin });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-base="\/workers"/);
    assert.equal((await fetch(`${app.url}/workers/actions/pause`, { method: 'POST', headers: ACTION })).status, 401);
    const paused = await fetch(`${app.url}/workers/actions/pause`, {
      method: 'POST',
      headers: { ...ACTION, ...admin },
    });
    assert.deepEqual(await paused.json(), { loop: 'paused' });
    const resumed = await fetch(`${app.url}/workers/actions/resume`, {
      method: 'POST',
      headers: { ...ACTION, ...admin },
    });
    assert.deepEqual(await resumed.json(), { loop: 'running' });
  });
});

describe('the sample app without DASHBOARD_PASSWORD', () => {
  let app: SampleApp;
  before(async () => {
    app = await startSampleApp({ WORKERS: '1' });
  });
  after(() => app?.kill());

  it('shows the dashboard read-only: actions refused', async () => {
    assert.equal((await fetch(`${app.url}/workers`)).status, 200);
    const state = (await (await fetch(`${app.url}/workers/state`)).json()) as any;
    assert.deepEqual(state.actions, { pause: false, retry: false, cancel: false });
    assert.equal((await fetch(`${app.url}/workers/actions/pause`, { method: 'POST', headers: ACTION })).status, 403);
  });
});
