/**
 * Over gRPC with a PostgreSQL store: one server app owns the queue, three
 * worker apps pull from it over loopback with a token. A worker is killed
 * with SIGKILL mid-run, later the server is killed and started again on the
 * same port. Every task must complete once at least, with the right result;
 * what ran twice is counted and bounded by what the kill and the restart
 * interrupted (at-least-once), not asserted away.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PostgresTaskClient } from '../../lib/postgres.js';
import { quiet } from '../support/grpc.support.js';
import { checkGrpcScaleOut, enqueueWork, runGrpcScaleOut } from '../support/grpc.scale-out.js';

const url = process.env.PG_URL;
const TASKS = 3000;

describe(
  'gRPC task server on PostgreSQL, 3 worker apps',
  { skip: url ? false : 'PG_URL is not set (run through npm test)' },
  () => {
    const queue = `grpc-scale-out-${randomUUID().slice(0, 8)}`;
    let store: PostgresTaskClient;

    before(async () => {
      store = new PostgresTaskClient({
        connectionString: url!,
        queue,
        listen: false,
        cleanupIntervalMs: 0,
        logger: quiet,
      });
      await store.migrate();
    });

    after(async () => {
      await store.pool.query(`DELETE FROM ${store.table} WHERE queue = $1`, [queue]);
      await store.close();
    });

    it(`drains ${TASKS} tasks through a worker kill -9 and a server restart, losing none`, async (t) => {
      const report = await runGrpcScaleOut({
        serverEnv: { GRPC_STORE: 'postgres', GRPC_QUEUE: queue, PG_URL: url! },
        enqueue: enqueueWork(TASKS),
        isComplete: async () => (await store.counts()).completed === TASKS,
      });
      checkGrpcScaleOut(t, report, await store.counts());
      const { rows } = await store.pool.query<{ right: number }>(
        `SELECT count(*) FILTER (WHERE result = ((payload::jsonb ->> 'n')::int * 2)::text)::int AS right FROM ${store.table} WHERE queue = $1`,
        [queue],
      );
      assert.equal(rows[0]!.right, TASKS, 'every stored result is the right one');
    });
  },
);
