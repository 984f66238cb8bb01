/**
 * The TaskClient conformance suite (nestjs-worker/testing) on the Redis
 * client, against the runner's redis-server (REDIS_URL): a key prefix of its
 * own per case, a short lease, and further consumers as further clients of
 * the same prefix, as other processes would make them. A killed consumer is
 * one closed without giving anything back. No watch(): an idle Redis
 * consumer waits in a blocking read instead.
 *
 * Cases of Redis-only findings of the durable-clients issue (extendLeases()
 * reporting lost deliveries, ...) fail here until the Redis client has them.
 */
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { LoggerService } from '@nestjs/common';
import { RedisTaskClient } from '../../lib/redis.js';
import { taskClientConformance } from '../../lib/testing.js';
import { redisSkip } from '../support/services.js';

const url = process.env.REDIS_URL;
const skip = redisSkip();
const quiet: LoggerService = { log: () => undefined, warn: () => undefined, error: () => undefined };

if (!url || skip) {
  describe('TaskClient conformance: RedisTaskClient', { skip }, () => {});
} else {
  taskClientConformance({
    name: 'RedisTaskClient',
    describe,
    it,
    features: { watch: false },
    open: () => {
      const prefix = `conformance-${randomUUID().slice(0, 8)}`;
      const clients: RedisTaskClient[] = [];
      const make = () => {
        const client = new RedisTaskClient({ url, prefix, leaseMs: 500, blockMs: 100, logger: quiet });
        clients.push(client);
        return client;
      };
      const client = make();
      return {
        client,
        consumer: make,
        kill: (victim) => victim.close(),
        close: async () => {
          const keys = await client.redis.keys(`${prefix}:*`).catch(() => [] as string[]);
          if (keys.length > 0) await client.redis.del(...keys).catch(() => undefined);
          await Promise.all(clients.map((c) => c.close()));
        },
      };
    },
  });
}
