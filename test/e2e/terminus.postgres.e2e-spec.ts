/**
 * nestjs-worker/terminus over PostgreSQL: the indicator is up while the
 * database answers and down once it stops answering (the client reaches it
 * through a proxy the test closes, as a stopped server or a cut network
 * looks to it).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PostgresTaskClient } from '../../lib/postgres.js';
import { until } from '../support/app.js';
import { bootHealthApp, type HealthApp } from '../support/health.app.js';
import { FaultProxy } from './postgres.fault-proxy.js';

describe('WorkerHealthIndicator with PostgresTaskClient', () => {
  let app: HealthApp;
  let proxy: FaultProxy;
  let closed = false;

  before(async () => {
    const url = new URL(process.env.PG_URL!);
    proxy = await FaultProxy.start(Number(url.port || 5432));
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const queue = `health_${randomUUID().slice(0, 8)}`;
    const setup = new PostgresTaskClient({ connectionString: process.env.PG_URL!, queue });
    await setup.migrate();
    await setup.close();
    app = await bootHealthApp({
      client: { useValue: new PostgresTaskClient({ connectionString: url.toString(), queue }) },
      options: { storeTimeoutMs: 2000 },
    });
  });
  after(async () => {
    if (!closed) await proxy?.close();
    // The client cannot reach its database any more: closing must still end.
    await app?.close().catch(() => undefined);
  });

  it('is up while the database answers, down with the reason once it is gone', async () => {
    const up = await app.health();
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.details.workers.store, 'up');
    await proxy.close();
    closed = true;
    let last: { status: number; body: any } | undefined;
    await until(
      async () => (last = await app.health()).status === 503,
      20_000,
      'the indicator to see the database gone',
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last: ${JSON.stringify(last)}`, { cause: error });
    });
    assert.equal(last!.body.error.workers.store, 'down');
    assert.match(last!.body.error.workers.message, /the task store does not answer: /);
  });
});
