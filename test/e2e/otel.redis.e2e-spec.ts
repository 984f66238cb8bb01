/** A trace from enqueue() in this process to the handler in another, through Redis (see followTraceAcrossProcesses). */
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { RedisTaskClient } from '../../lib/redis.js';
import { followTraceAcrossProcesses } from '../support/otel.cross-process.js';
import { redisSkip } from '../support/services.js';

describe('nestjs-worker/otel across processes: Redis', { skip: redisSkip() }, () => {
  it('follows a trace from enqueue() in one process to the spans the handler opens in another', async () => {
    const prefix = `otel-${randomUUID()}`;
    const store = new RedisTaskClient({ url: process.env.REDIS_URL!, prefix });
    try {
      await followTraceAcrossProcesses(store, { OTEL_CONSUMER_CLIENT: 'redis', OTEL_QUEUE: prefix });
    } finally {
      await store.close();
    }
  });
});
