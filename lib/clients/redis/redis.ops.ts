import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Messages } from '../../errors/error-messages.js';
import type { AttemptLimits } from '../kit/attempt-limits.registry.js';
import type { Op } from './redis.codec.js';
import { runScriptMany, Scripts, type Arg } from './redis.commands.js';
import { GROUP, type RedisKeys } from './redis.keys.js';

/** Ops per script call: long enough to amortise the call, short enough not to hold the server up. */
const OPS_PER_CALL = 100;

/**
 * What APPLY did with one op: `stale` when this consumer no longer held the
 * entry with that delivery count (nothing changed), `dead` when a takeover
 * found the task out of attempts and dead-lettered it as a crash.
 */
export type Applied = 'stale' | 'applied' | 'dead';
const APPLIED: Record<number, Applied> = { 0: 'stale', 1: 'applied', 2: 'dead' };

/** Runs fenced operations on delivered entries, pipelined in chunks; reports what each did. */
export class RedisOps {
  staleOutcomes = 0;

  constructor(
    private readonly conn: Redis,
    private readonly keys: RedisKeys,
    private readonly consumer: string,
    private readonly limits: AttemptLimits,
    private readonly settings: {
      keepCompletedMs: number;
      keepFailedMs: number;
      leaseMs: number;
      logger: LoggerService;
    },
  ) {}

  async apply(ops: readonly Op[]): Promise<Applied[]> {
    if (ops.length === 0) return [];
    const calls: Arg[][] = [];
    for (let i = 0; i < ops.length; i += OPS_PER_CALL) {
      const chunk = ops.slice(i, i + OPS_PER_CALL);
      const args: Arg[] = [
        GROUP,
        this.consumer,
        this.keys.recordPrefix,
        this.settings.keepCompletedMs,
        this.settings.keepFailedMs,
        this.limits.fallback,
      ];
      // The registered limits travel with the calls that may need them: a
      // takeover is decided inside the script, on the entry as it is then.
      if (chunk.some(([op]) => op === 'takeover')) {
        const { names, limits } = this.limits.columns();
        args.push(names.length);
        names.forEach((name, k) => args.push(name, limits[k]!));
      } else {
        args.push(0);
      }
      args.push(chunk.length);
      for (const [op, band, ...rest] of chunk) args.push(op, band + 1, ...rest);
      calls.push(args);
    }
    const replies = (await runScriptMany(this.conn, Scripts.apply, this.keys.scriptKeys, calls)) as number[][];
    return replies.flat().map((n) => APPLIED[n] ?? 'stale');
  }

  noteStale(count: number): void {
    this.staleOutcomes += count;
    this.settings.logger.warn(Messages.redisStaleOutcomes(count, this.settings.leaseMs));
  }
}
