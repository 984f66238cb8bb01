/**
 * Scale-out on PostgreSQL: 3 processes of the same app share one queue, one
 * of them is killed with SIGKILL mid-run. Every task must complete; what the
 * dead process held comes back once its lease (2 s) runs out, charged an
 * attempt only if it had started there. Delivery is at-least-once, so tasks
 * that ran twice are counted and reported, not asserted away; so are wait
 * times (two shared cores).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PostgresTaskClient } from '../../lib/postgres.js';
import { checkScaleOut, runScaleOut } from '../support/scale-out.js';

const url = process.env.PG_URL;
const TASKS = 3000;

describe('PostgresTaskClient scale-out', { skip: url ? false : 'PG_URL is not set (run through npm test)' }, () => {
  const queue = `scale-out-${randomUUID().slice(0, 8)}`;
  let producer: PostgresTaskClient;

  before(async () => {
    producer = new PostgresTaskClient({ connectionString: url!, queue, listen: false, cleanupIntervalMs: 0 });
    await producer.migrate();
  });

  after(async () => {
    await producer.pool.query(`DELETE FROM ${producer.table} WHERE queue = $1`, [queue]);
    await producer.close();
  });

  it(`3 processes drain ${TASKS} tasks; one is killed with SIGKILL mid-run and its tasks run elsewhere`, async (t) => {
    const report = await runScaleOut({
      clientModule: new URL('../fixtures/scale-out/postgres.client.js', import.meta.url),
      env: { PG_URL: url!, SCALE_OUT_QUEUE: queue },
      processes: 3,
      enqueue: () =>
        producer.enqueueMany(
          Array.from({ length: TASKS }, (_, n) => ({ name: 'scale-out.work', payload: { n, ms: 3 } })),
        ),
      isComplete: async () => (await producer.counts()).completed === TASKS,
      timeoutMs: 180_000,
    });
    checkScaleOut(t, report, await producer.counts());
    const { rows } = await producer.pool.query<{ right: number; retaken: number }>(
      `SELECT count(*) FILTER (WHERE result = ((payload::jsonb ->> 'n')::int * 2)::text)::int AS right,
              count(*) FILTER (WHERE errors @> '[{"code": "ERR_WORKER_LEASE_EXPIRED"}]')::int AS retaken
       FROM ${producer.table} WHERE queue = $1`,
      [queue],
    );
    assert.equal(rows[0]!.right, TASKS, 'every stored result is the right one');
    t.diagnostic(
      `${rows[0]!.retaken} task(s) carry a lost-lease error (an attempt charged); ${report.duplicateIds.length} ran twice (${report.extraExecutions} extra executions)`,
    );
  });
});
