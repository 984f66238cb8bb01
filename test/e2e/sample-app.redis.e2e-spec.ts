/** The sample app on Redis (TASKS_URL=redis://...): a SIGTERM loses nothing, a restart finishes the work. */
import { describe } from 'node:test';
import { Redis } from 'ioredis';
import { durableRestartSuite } from '../fixtures/sample-app/durable-restart.js';
import { redisSkip } from '../support/services.js';

const serverUrl = process.env.REDIS_URL;
const skip = redisSkip();

if (skip) describe('sample app on redis', { skip }, () => {});
else
  durableRestartSuite(
    {
      name: 'redis',
      async prepare() {
        // A database index of its own, which must be empty: the test never
        // deletes data it did not write (REDIS_URL may point at a shared server).
        const url = new URL(serverUrl!);
        url.pathname = '/11';
        const redis = new Redis(url.href, { lazyConnect: true });
        await redis.connect();
        try {
          const keys = await redis.dbsize();
          if (keys > 0)
            throw new Error(
              `Redis database 11 of ${serverUrl} holds ${keys} keys; the sample-app test needs it empty.`,
            );
        } finally {
          redis.disconnect();
        }
        return url.href;
      },
      async cleanup() {
        const url = new URL(serverUrl!);
        url.pathname = '/11';
        const redis = new Redis(url.href, { lazyConnect: true });
        await redis.connect();
        try {
          await redis.flushdb();
        } finally {
          redis.disconnect();
        }
      },
    },
    serverUrl,
  );
