/**
 * The TaskClient conformance suite on GrpcTaskClient, against a
 * GrpcTaskServer over loopback serving a PostgresTaskClient (the runner's
 * server, PG_URL): a queue, a store client and a server of their own per
 * case, a short lease (the store's, 1000 ms, which the server hands to its
 * workers), further consumers as further clients of the server. A lease of
 * 1000 ms rather than the direct clients' 500: cases that take tasks without
 * extending them (several consumers fetching in turn) must publish within
 * one lease, and the hop through the server on a busy shared machine took
 * longer than 500 ms.
 */
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { GrpcTaskClient } from '../../lib/grpc.js';
import { PostgresTaskClient } from '../../lib/postgres.js';
import { taskClientConformance } from '../../lib/testing.js';
import { jobControlFeatures, quiet, serve } from '../support/grpc.support.js';

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
    open: async () => {
      const queue = `grpc-conformance-${randomUUID().slice(0, 8)}`;
      const store = new PostgresTaskClient({
        connectionString: url,
        queue,
        leaseMs: 1000,
        cleanupIntervalMs: 0,
        logger: quiet,
      });
      const served = await serve(store);
      const clients: GrpcTaskClient[] = [];
      const make = async () => {
        const client = await GrpcTaskClient.connect({ url: served.url, fetchWaitMs: 200, logger: quiet });
        clients.push(client);
        return client;
      };
      return {
        client: await make(),
        consumer: make,
        kill: (victim) => victim.close(),
        close: async () => {
          for (const client of clients) client.close();
          await served.close();
          await store.pool.query(`DELETE FROM ${store.table} WHERE queue = $1`, [queue]).catch(() => undefined);
          await store.close();
        },
      };
    },
  });
}
