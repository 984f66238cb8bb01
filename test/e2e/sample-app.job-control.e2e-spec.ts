/**
 * The sample app's job control over HTTP (in-memory client, real threads):
 * GET /tasks/:id shows a long report's progress, DELETE /tasks/:id cancels
 * it while it runs (its synchronous loop is stopped with its thread after
 * the grace period), and ?uniqueKey= makes a second POST return the first id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildSampleApp, startSampleApp, waitForTask, type SampleApp } from '../fixtures/sample-app/harness.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('sample app: progress, cancel and unique keys over HTTP', () => {
  let app: SampleApp;

  before(async () => {
    buildSampleApp();
    app = await startSampleApp({ WORKERS: '2' });
  });
  after(async () => {
    await app?.kill();
  });

  it('shows a running report’s progress, cancels it with DELETE, and refuses a second cancel', async () => {
    // Twenty million rows: seconds of one core, far longer than the test needs.
    const enqueued = await app.request('POST', '/tasks/report.sales', { rows: 20_000_000, seed: 5 });
    assert.equal(enqueued.status, 202, JSON.stringify(enqueued.body));
    const id = enqueued.body.id as string;
    let view: any;
    for (const deadline = Date.now() + 60_000; ; await sleep(50)) {
      view = (await app.request('GET', `/tasks/${id}`)).body;
      if (view.progress?.rows > 0) break;
      assert.ok(Date.now() < deadline, `no progress shown: ${JSON.stringify(view)}`);
    }
    assert.equal(view.state, 'running');
    assert.equal(view.progress.of, 20_000_000);
    const cancelled = await app.request('DELETE', `/tasks/${id}`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.cancelled, true);
    const after = (await app.request('GET', `/tasks/${id}`)).body;
    assert.equal(after.state, 'cancelled');
    assert.ok(after.progress.rows < 20_000_000, 'stopped before the end');
    const again = await app.request('DELETE', `/tasks/${id}`);
    assert.equal(again.status, 409);
    assert.match(again.body.message, /is cancelled/);
    assert.equal((await app.request('DELETE', '/tasks/no-such-task')).status, 404);
    // The pool goes on once the stopped thread is replaced.
    const next = await app.request('POST', '/tasks/report.sales', { rows: 10_000, seed: 1 });
    const done = await waitForTask(app, next.body.id);
    assert.equal(done.state, 'completed');
    assert.deepEqual(done.progress, { rows: 10_000, of: 10_000 });
  });

  it('?uniqueKey= returns the waiting task’s id instead of a second task', async () => {
    const first = await app.request('POST', '/tasks/report.sales?delayMs=60000&uniqueKey=daily', { rows: 1000 });
    const second = await app.request('POST', '/tasks/report.sales?uniqueKey=daily', { rows: 2000 });
    assert.equal(first.status, 202);
    assert.equal(second.body.id, first.body.id);
    const view = (await app.request('GET', `/tasks/${first.body.id}`)).body;
    assert.equal(view.state, 'delayed');
    assert.equal(view.uniqueKey, 'daily');
    assert.equal((await app.request('DELETE', `/tasks/${first.body.id}`)).status, 200);
    const third = await app.request('POST', '/tasks/report.sales?uniqueKey=daily', { rows: 3000 });
    assert.notEqual(third.body.id, first.body.id, 'the key is free once its task is cancelled');
  });
});
