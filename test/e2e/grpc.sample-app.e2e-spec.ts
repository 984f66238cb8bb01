/**
 * The sample app as a task server plus a worker over gRPC, as the README
 * shows it: one instance serves its (in-memory) store with GRPC_LISTEN, a
 * second one takes TASKS_URL=grpc://... and the shared token; a task
 * enqueued through the second instance's HTTP API goes through the server's
 * store and completes; a unique key and a cancel made through the second
 * instance act on the first one's store. A worker with the wrong token does
 * not start.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildSampleApp, startSampleApp, waitForTask, type SampleApp } from '../fixtures/sample-app/harness.js';
import { freePort } from '../support/services.js';

describe('sample app over gRPC: a server instance and a worker instance', () => {
  const apps: SampleApp[] = [];
  let server: SampleApp;
  let worker: SampleApp;
  let grpcUrl: string;

  before(async () => {
    buildSampleApp();
    const port = await freePort();
    grpcUrl = `grpc://127.0.0.1:${port}`;
    server = await startSampleApp({ GRPC_LISTEN: `127.0.0.1:${port}`, GRPC_TOKEN: 'sample-token', WORKERS: '1' });
    apps.push(server);
    worker = await startSampleApp({ TASKS_URL: grpcUrl, GRPC_TOKEN: 'sample-token', WORKERS: '1' });
    apps.push(worker);
  });

  after(async () => {
    await Promise.all(apps.map((app) => app.kill()));
  });

  it('a task enqueued through the worker instance completes in the server instance’s store', async () => {
    const enqueued = await worker.request('POST', '/tasks/password.hash', { password: 'over grpc', cost: 14 });
    assert.equal(enqueued.status, 202, JSON.stringify(enqueued.body));
    const { id } = enqueued.body as { id: string };
    const done = await waitForTask(worker, id);
    assert.equal(done.state, 'completed', JSON.stringify(done));
    const seen = await server.request('GET', `/tasks/${encodeURIComponent(id)}`);
    assert.equal(seen.status, 200);
    assert.equal(seen.body.state, 'completed', 'the server instance owns the task');
    assert.match(server.output(), /Serving tasks over gRPC on 127\.0\.0\.1:\d+ \(plaintext, authenticated/);
  });

  it('a unique key and a cancel through the worker instance act on the server instance’s store', async () => {
    const path = '/tasks/password.hash?delayMs=600000&uniqueKey=grpc-sample';
    const first = await worker.request('POST', path, { password: 'later', cost: 14 });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const { id } = first.body as { id: string };
    const again = await worker.request('POST', path, { password: 'again', cost: 14 });
    assert.equal((again.body as { id: string }).id, id, 'the second enqueue with the key returns the first task');
    const cancelled = await worker.request('DELETE', `/tasks/${encodeURIComponent(id)}`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    const seen = await server.request('GET', `/tasks/${encodeURIComponent(id)}`);
    assert.equal(seen.body.state, 'cancelled', 'cancelled in the server instance’s store');
    assert.equal(seen.body.uniqueKey, 'grpc-sample');
    const twice = await worker.request('DELETE', `/tasks/${encodeURIComponent(id)}`);
    assert.equal(twice.status, 409, JSON.stringify(twice.body));
  });

  it('a worker instance without the token does not start, and says why', async () => {
    await assert.rejects(
      startSampleApp({ TASKS_URL: grpcUrl, GRPC_TOKEN: 'wrong', WORKERS: '1' }, 30_000),
      (error: Error) => {
        assert.match(error.message, /UNAUTHENTICATED/);
        assert.ok(error.message.includes(grpcUrl), error.message);
        return true;
      },
    );
  });
});
