import type { Redis } from 'ioredis';
import type { PermitAnswer, PermitRequest } from '../../interfaces/task-client.interface.js';
import type { RedisReceipt } from './redis.codec.js';
import { runScriptMany, Scripts, type Arg } from './redis.commands.js';
import { GROUP, type RedisKeys } from './redis.keys.js';

/** Requests per ACQUIRE_PERMITS call: one call (one round trip) for any batch the loop fetches. */
const REQUESTS_PER_CALL = 1000;

/**
 * How long a delivery denied by its key's concurrency waits before it is
 * asked for again, at least (the holders' ends are not known in advance).
 * Jittered up to twice as long, so that the waiters of one key do not all
 * come back in the same instant.
 */
export const CONCURRENCY_RETRY_MS = 200;

const WHY = [undefined, 'rate', 'concurrency', 'not held'] as const;

/**
 * `acquirePermits()`: rate limits and concurrency keys across processes,
 * decided by one script per batch on the server's clock (see
 * scripts/acquire-permits.lua.ts). A request without a receipt of this
 * client, or without any limit, is granted without asking.
 */
export class RedisPermits {
  constructor(
    private readonly conn: Redis,
    private readonly keys: RedisKeys,
    private readonly consumer: string,
    private readonly leaseMs: number,
  ) {}

  async acquire(requests: readonly PermitRequest[]): Promise<PermitAnswer[]> {
    const answers: PermitAnswer[] = requests.map(() => ({ granted: true }));
    const asked: number[] = [];
    const values: Arg[][] = [];
    requests.forEach(({ task, rateLimit, concurrencyPerKey }, i) => {
      const r = task.receipt as RedisReceipt | undefined;
      const keyed = concurrencyPerKey !== undefined && task.concurrencyKey !== undefined;
      if (!r || typeof r.entryId !== 'string' || (!keyed && !rateLimit)) return;
      asked.push(i);
      values.push([
        r.band + 1,
        r.entryId,
        r.deliveries,
        task.name,
        keyed ? task.concurrencyKey! : '',
        keyed ? concurrencyPerKey : '',
        rateLimit ? rateLimit.max : '',
        rateLimit ? rateLimit.intervalMs : '',
      ]);
    });
    if (asked.length === 0) return answers;
    const calls: Arg[][] = [];
    for (let i = 0; i < values.length; i += REQUESTS_PER_CALL) {
      const chunk = values.slice(i, i + REQUESTS_PER_CALL);
      calls.push([
        GROUP,
        this.consumer,
        this.keys.recordPrefix,
        this.leaseMs,
        CONCURRENCY_RETRY_MS,
        chunk.length,
        ...chunk.flat(),
      ]);
    }
    const replies = (await runScriptMany(
      this.conn,
      Scripts.acquirePermits,
      this.keys.scriptKeys,
      calls,
    )) as unknown[][];
    const flat = replies.flat();
    asked.forEach((at, k) => {
      if (Number(flat[3 * k]) === 1) return;
      const wait = Number(flat[3 * k + 1]);
      const why = WHY[Number(flat[3 * k + 2])];
      answers[at] = {
        granted: false,
        retryAfterMs: why === 'rate' ? wait : Math.round(wait * (1 + Math.random())),
      };
    });
    return answers;
  }
}
