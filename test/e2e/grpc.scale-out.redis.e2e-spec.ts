/**
 * Over gRPC with a Redis store: one server app owns the queue, three worker
 * apps pull from it over loopback with a token. A worker is killed with
 * SIGKILL mid-run, later the server is killed and started again on the same
 * port. The restarted server's Redis client is a new consumer of the group:
 * what the workers held through the old one is reported lost to them and
 * taken back after its lease (fenced, nothing lost). Every task must
 * complete with the right result; what ran twice is counted and bounded by
 * what the kill and the restart interrupted.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RedisTaskClient } from '../../lib/redis.js';
import { quiet } from '../support/grpc.support.js';
import { checkGrpcScaleOut, enqueueWork, runGrpcScaleOut } from '../support/grpc.scale-out.js';

const url = process.env.REDIS_URL;
const TASKS = 3000;

describe(
  'gRPC task server on Redis, 3 worker apps',
  { skip: url ? false : 'REDIS_URL is not set (run through npm test)' },
  () => {
    const prefix = `grpc-scale-out-${randomUUID().slice(0, 8)}`;
    let store: RedisTaskClient;

    before(() => {
      store = new RedisTaskClient({ url: url!, prefix, logger: quiet });
    });

    after(async () => {
      const keys = await store.redis.keys(`${prefix}:*`);
      if (keys.length > 0) await store.redis.del(...keys);
      await store.close();
    });

    it(`drains ${TASKS} tasks through a worker kill -9 and a server restart, losing none`, async (t) => {
      const report = await runGrpcScaleOut({
        serverEnv: { GRPC_STORE: 'redis', GRPC_QUEUE: prefix, REDIS_URL: url! },
        enqueue: enqueueWork(TASKS),
        isComplete: async () => (await store.counts()).completed === TASKS,
      });
      checkGrpcScaleOut(t, report, await store.counts());
      const records = await Promise.all(report.ids.map((id) => store.get<number>(id)));
      const wrong = records.filter((r, n) => r?.state !== 'completed' || r.result !== n * 2);
      assert.equal(wrong.length, 0, 'every stored result is the right one');
    });
  },
);
