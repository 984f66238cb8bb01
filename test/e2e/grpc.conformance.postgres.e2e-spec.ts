/**
 * The TaskClient conformance suite on GrpcTaskClient, against a
 * GrpcTaskServer over loopback serving a PostgresTaskClient (the runner's
 * server, PG_URL): a queue, a store client and a server of their own per
 * case, a short lease (the store's, 2000 ms, which the server hands to its
 * workers), further consumers as further clients of the server. A lease of
 * 2000 ms rather than the direct client's 500: cases that take tasks without
 * extending them (several consumers fetching in turn) must publish within
 * one lease, and the PostgreSQL client takes an unstarted delivery back
 * once nobody extended it for half of its lease; with three consumers'
 * fetches and extensions all hopping through one server process on a busy
 * shared machine (load 17 on 2 cores), 1000 ms lost deliveries that were
 * being kept alive ("never hands one task to two consumers": 118 of 150
 * completed).
 */
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { GrpcTaskClient } from '../../lib/grpc.js';
import { PostgresTaskClient } from '../../lib/postgres.js';
import { taskClientConformance } from '../../lib/testing.js';
import { jobControlFeatures, quiet } from '../support/grpc.support.js';
import { servedQueue } from './grpc.conformance.queue.js';

const url = process.env.PG_URL;

if (!url) {
  describe(
    'TaskClient conformance: GrpcTaskClient (PostgreSQL store)',
    { skip: 'PG_URL is not set (run through npm test)' },
    () => {},
  );
} else {
  before(() => new PostgresTaskClient({ connectionString: url, cleanupIntervalMs: 0 }).migrate());
  taskClientConformance<GrpcTaskClient>({
    name: 'GrpcTaskClient (PostgreSQL store)',
    features: jobControlFeatures(PostgresTaskClient),
    describe,
    it,
    open: () => {
      const queue = `grpc-conformance-${randomUUID().slice(0, 8)}`;
      const store = new PostgresTaskClient({
        connectionString: url,
        queue,
        leaseMs: 2000,
        cleanupIntervalMs: 0,
        logger: quiet,
      });
      return servedQueue(store, {
        dispose: async () => {
          await store.pool.query(`DELETE FROM ${store.table} WHERE queue = $1`, [queue]).catch(() => undefined);
          await store.close();
        },
      });
    },
  });
}
