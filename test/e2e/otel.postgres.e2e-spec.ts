/** A trace from enqueue() in this process to the handler in another, through PostgreSQL (see followTraceAcrossProcesses). */
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { PostgresTaskClient } from '../../lib/postgres.js';
import { followTraceAcrossProcesses } from '../support/otel.cross-process.js';

describe('nestjs-worker/otel across processes: PostgreSQL', () => {
  it('follows a trace from enqueue() in one process to the spans the handler opens in another', async () => {
    const queue = `otel-${randomUUID()}`;
    const store = new PostgresTaskClient({ connectionString: process.env.PG_URL!, queue });
    try {
      await store.migrate();
      await followTraceAcrossProcesses(store, { OTEL_CONSUMER_CLIENT: 'postgres', OTEL_QUEUE: queue });
    } finally {
      await store.close();
    }
  });
});
