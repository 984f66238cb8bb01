/**
 * Scale-out on Redis: three processes drain one queue; one is killed with
 * SIGKILL mid-run. Every task must complete; the killed process's unfinished
 * tasks come back once their lease runs out, or half of it for those that
 * never started. Only started ones are charged an attempt. Delivery is
 * at-least-once, so duplicates are counted and reported, not asserted away;
 * so are the wait times (two shared cores).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { redisSkip } from '../support/services.js';
import { RedisTaskClient } from '../../lib/redis.js';
import { checkScaleOut, runScaleOut } from '../support/scale-out.js';

const REDIS_URL = process.env.REDIS_URL!;
const TASKS = 3000;
const quiet = { log() {}, warn() {}, error() {} };

describe('Redis scale-out', { skip: redisSkip() }, () => {
  it('shares the work between 3 processes and survives kill -9 of one', async (t: TestContext) => {
    const prefix = `scale-out-${process.pid}-${Date.now().toString(36)}`;
    const producer = new RedisTaskClient({ url: REDIS_URL, prefix, logger: quiet });
    try {
      const report = await runScaleOut({
        clientModule: new URL('../fixtures/scale-out/redis.client.js', import.meta.url),
        env: { REDIS_URL, SCALE_OUT_REDIS_PREFIX: prefix },
        processes: 3,
        enqueue: () =>
          producer.enqueueMany(
            Array.from({ length: TASKS }, (_, n) => ({ name: 'scale-out.work', payload: { n, ms: 2 } })),
          ),
        isComplete: async (ids) => (await producer.counts()).completed >= ids.length,
        timeoutMs: 180_000,
      });
      checkScaleOut(t, report, await producer.counts());
      const records = await Promise.all(report.ids.map((id) => producer.get<number>(id)));
      const notDone = records.filter((r) => r?.state !== 'completed');
      assert.equal(notDone.length, 0, `not completed: ${JSON.stringify(notDone.slice(0, 3))}`);
      records.forEach((r, n) => assert.equal(r!.result, n * 2));
      const reclaimed = new Set(
        records.filter((r) => r!.errors.some((e) => e.name === 'LeaseExpiredError')).map((r) => r!.id),
      );
      // A survivor starved of CPU for longer than the lease loses tasks too (at-least-once):
      // reported, not asserted, like the duplicates.
      const attempts = records.map((r) => r!.attempt);
      t.diagnostic(
        `${reclaimed.size} task(s) charged an attempt for a lost lease; ${report.duplicateIds.length} duplicate(s); ` +
          `highest attempt ${Math.max(...attempts)}, ${attempts.filter((a) => a > 2).length} task(s) past attempt 2`,
      );
    } finally {
      await producer.close();
    }
  });
});
