import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Messages } from '../../errors/error-messages.js';
import type { SerializedTaskError } from '../../interfaces/serialized-error.interface.js';
import type { Band } from './redis.keys.js';
import { GROUP, type RedisKeys } from './redis.keys.js';
import { runScriptMany, Scripts } from './redis.scripts.js';

/** One APPLY operation: op, band, entry id, deliveries, task id, attempt, x, y, z (see redis.scripts.ts). */
export type Op = readonly [
  op: 'run' | 'completed' | 'failed' | 'retry' | 'released' | 'extend',
  band: Band,
  entryId: string,
  deliveries: number,
  taskId: string,
  attempt: number,
  x: string | number,
  y: string | number,
  z: string | number,
];

/** Ops per script call: long enough to amortise the call, short enough not to hold the server up. */
const OPS_PER_CALL = 100;

/** JSON of a serialized error; BigInt props become strings rather than failing the whole batch. */
export function errorJson(error: SerializedTaskError): string {
  return JSON.stringify(error, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/** Runs fenced operations on delivered entries, pipelined in chunks; reports which applied. */
export class RedisOps {
  staleOutcomes = 0;

  constructor(
    private readonly conn: Redis,
    private readonly keys: RedisKeys,
    private readonly consumer: string,
    private readonly settings: {
      keepCompletedMs: number;
      keepFailedMs: number;
      leaseMs: number;
      logger: LoggerService;
    },
  ) {}

  /** `true` per op that applied, `false` per op whose entry this consumer no longer holds. */
  async apply(ops: readonly Op[]): Promise<boolean[]> {
    if (ops.length === 0) return [];
    const calls: Array<Array<string | number>> = [];
    for (let i = 0; i < ops.length; i += OPS_PER_CALL) {
      const chunk = ops.slice(i, i + OPS_PER_CALL);
      const args: Array<string | number> = [
        GROUP,
        this.consumer,
        this.keys.recordPrefix,
        this.settings.keepCompletedMs,
        this.settings.keepFailedMs,
        chunk.length,
      ];
      for (const [op, band, ...rest] of chunk) args.push(op, band + 1, ...rest);
      calls.push(args);
    }
    const replies = (await runScriptMany(this.conn, Scripts.apply, this.keys.scriptKeys, calls)) as number[][];
    return replies.flat().map((n) => n === 1);
  }

  noteStale(count: number): void {
    this.staleOutcomes += count;
    this.settings.logger.warn(Messages.redisStaleOutcomes(count, this.settings.leaseMs));
  }
}
