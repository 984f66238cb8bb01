/**
 * Every Redis suite once more, on ioredis 6 (the peer range allows 5 and 6;
 * `npm install ioredis` gives 6, which speaks RESP3 by default). The other
 * spec files run on ioredis 5, the devDependency; here `ioredis` resolves to
 * the `ioredis6` alias, in this process and in those it spawns.
 */
import './redis.ioredis6.register.js';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { RedisTaskClient } from '../../lib/redis.js';
import { sleep, until } from '../support/app.js';
import { redisSkip } from '../support/services.js';
import { CaptureLogger, uniquePrefix } from './redis.helpers.js';
import { redisSpecs } from './redis.suites.js';

describe('on ioredis 6', { skip: redisSkip() }, async () => {
  it('loads ioredis 6, which speaks RESP3', async () => {
    const require = createRequire(import.meta.url);
    assert.match((require('ioredis/package.json') as { version: string }).version, /^6\./);
    const { Redis } = await import('ioredis');
    const redis = new Redis(process.env.REDIS_URL!);
    try {
      assert.match(String(await redis.call('CLIENT', 'INFO')), /\bresp=3\b/);
    } finally {
      redis.disconnect();
    }
  });
  it('works on a connection of yours that maps RESP3 maps to objects (replyMapping: "resp3")', async () => {
    const { Redis } = await import('ioredis');
    const connection = new Redis(process.env.REDIS_URL!, { replyMapping: 'resp3' } as object);
    const client = new RedisTaskClient({ connection, prefix: uniquePrefix(), logger: new CaptureLogger() });
    try {
      // The consumer waits in its blocking read (a duplicate of that connection) when the task arrives.
      const fetching = client.fetch(5, AbortSignal.timeout(10_000));
      await sleep(50);
      const id = await client.enqueue('echo', { n: 1 });
      const [task] = await fetching;
      assert.deepEqual([task?.id, task?.payload, task?.attempt], [id, { n: 1 }, 1]);
      await client.publish([{ status: 'failed', task: task!, reason: 'error', error: { name: 'E', message: 'no' } }]);
      assert.equal((await client.get(id))?.state, 'failed');
      assert.equal((await client.deadLetters())[0]?.id, id);
      assert.deepEqual(await client.counts(), {
        queued: 0,
        delayed: 0,
        running: 0,
        completed: 0,
        failed: 1,
        cancelled: 0,
      });
      // Job control on that connection: a cancel notice through a subscriber duplicated from it, permits, a schedule.
      const notices: string[] = [];
      const stop = client.watchCancels((ids) => notices.push(...ids));
      await sleep(100);
      const running = await client.enqueue('echo', 2, { uniqueKey: 'u', concurrencyKey: 'k' });
      const [held] = await client.fetch(5, AbortSignal.timeout(10_000));
      assert.equal(held?.concurrencyKey, 'k');
      const [answer] = await client.acquirePermits([
        { task: held!, concurrencyPerKey: 1, rateLimit: { max: 5, intervalMs: 1000 } },
      ]);
      assert.equal(answer?.granted, true);
      assert.equal(await client.cancel(running), true);
      await until(() => notices.includes(running), 5000, 'the cancel notice');
      stop();
      assert.equal(
        typeof (await client.fireSchedule({ key: 's', tick: 1, whenNew: 'fire', task: { name: 'echo' } })),
        'string',
      );
      assert.equal(await client.retryDeadLetter(id), true);
    } finally {
      await client.close();
      connection.disconnect();
    }
  });
  for (const file of redisSpecs()) await import(file);
});
