/**
 * The TaskClient conformance suite (nestjs-worker/testing) on the PostgreSQL
 * client, against the runner's server (PG_URL): a queue of its own per case,
 * a short lease, and a second and third consumer as further clients of the
 * same queue, as other processes would make them. A killed consumer is one
 * closed without giving anything back (close() releases nothing).
 */
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { LoggerService } from '@nestjs/common';
import { PostgresTaskClient } from '../../lib/postgres.js';
import { taskClientConformance } from '../../lib/testing.js';

const url = process.env.PG_URL;
const quiet: LoggerService = { log: () => undefined, warn: () => undefined, error: () => undefined };

if (!url) {
  describe(
    'TaskClient conformance: PostgresTaskClient',
    { skip: 'PG_URL is not set (run through npm test)' },
    () => {},
  );
} else {
  before(() => new PostgresTaskClient({ connectionString: url, cleanupIntervalMs: 0 }).migrate());
  taskClientConformance({
    name: 'PostgresTaskClient',
    describe,
    it,
    open: () => {
      const queue = `conformance-${randomUUID().slice(0, 8)}`;
      const clients: PostgresTaskClient[] = [];
      const make = () => {
        const client = new PostgresTaskClient({
          connectionString: url,
          queue,
          leaseMs: 500,
          cleanupIntervalMs: 0,
          logger: quiet,
        });
        clients.push(client);
        return client;
      };
      const client = make();
      return {
        client,
        consumer: make,
        kill: (victim) => victim.close(),
        close: async () => {
          await client.pool.query(`DELETE FROM ${client.table} WHERE queue = $1`, [queue]).catch(() => undefined);
          await Promise.all(clients.map((c) => c.close()));
        },
      };
    },
  });
}
