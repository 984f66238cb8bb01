/**
 * The TaskClient conformance suite on GrpcTaskClient, against a
 * GrpcTaskServer over loopback serving a RedisTaskClient (the runner's
 * redis-server, REDIS_URL): a key prefix, a store client and a server of
 * their own per case, the store's lease (1000 ms, see the PostgreSQL spec),
 * further consumers as further clients of the server. Unlike the Redis client itself, GrpcTaskClient has
 * watch(): the server wakes its workers on enqueues made through it.
 */
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { GrpcTaskClient } from '../../lib/grpc.js';
import { RedisTaskClient } from '../../lib/redis.js';
import { taskClientConformance } from '../../lib/testing.js';
import { jobControlFeatures, quiet } from '../support/grpc.support.js';
import { servedQueue } from './grpc.conformance.queue.js';

const url = process.env.REDIS_URL;

if (!url) {
  describe(
    'TaskClient conformance: GrpcTaskClient (Redis store)',
    { skip: 'REDIS_URL is not set (run through npm test)' },
    () => {},
  );
} else {
  taskClientConformance<GrpcTaskClient>({
    name: 'GrpcTaskClient (Redis store)',
    features: jobControlFeatures(RedisTaskClient),
    describe,
    it,
    open: () => {
      const prefix = `grpc-conformance-${randomUUID().slice(0, 8)}`;
      const store = new RedisTaskClient({ url, prefix, leaseMs: 1000, blockMs: 100, logger: quiet });
      return servedQueue(store, {
        dispose: async () => {
          const keys = await store.redis.keys(`${prefix}:*`).catch(() => [] as string[]);
          if (keys.length > 0) await store.redis.del(...keys).catch(() => undefined);
          await store.close();
        },
      });
    },
  });
}
