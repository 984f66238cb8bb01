import type { Redis } from 'ioredis';
import type { AttemptLimits } from '../kit/attempt-limits.registry.js';
import type { Op } from './redis.codec.js';
import { runScriptMany, Scripts, type Arg } from './redis.commands.js';
import { GROUP, type RedisKeys } from './redis.keys.js';

/** Ops per script call: long enough to amortise the call, short enough not to hold the server up. */
const OPS_PER_CALL = 100;

/**
 * What APPLY did with one op (see scripts/apply.lua.ts):
 * - `stale`: another delivery holds or held the entry; nothing changed.
 * - `applied`; for run and takeover, `attempt` is the delivery's attempt.
 * - `dead`: a takeover found the task out of attempts and dead-lettered it as a crash.
 * - `done`: this delivery's outcome had been recorded by an earlier try whose reply was lost.
 * - `gone`: neither the entry nor the task's record exists any more: Redis lost its data.
 * - `failed`: the entry's data breaks a command (`problem`); it was dead-lettered as invalid where possible.
 * - `uncharged`: a takeover applied whose lost delivery had not started, so it was no attempt.
 * - `cancelled`: the task was cancelled (`cancel(id)`); the delivery is over, its permit given back.
 */
export type Applied =
  | { status: 'stale' | 'done' | 'gone' | 'cancelled' }
  | { status: 'applied' | 'uncharged' | 'dead'; attempt: number; lost: number }
  | { status: 'failed'; problem: string };

const STATUS = ['stale', 'applied', 'dead', 'done', 'gone', 'failed', 'uncharged', 'cancelled'] as const;

/** Runs fenced operations on delivered entries, pipelined in chunks; reports what each did. */
export class RedisOps {
  constructor(
    private readonly conn: Redis,
    private readonly keys: RedisKeys,
    private readonly consumer: string,
    private readonly limits: AttemptLimits,
    private readonly settings: { keepCompletedMs: number; keepFailedMs: number },
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
    const replies = (await runScriptMany(this.conn, Scripts.apply, this.keys.scriptKeys, calls)) as unknown[][];
    const out: Applied[] = [];
    for (const reply of replies) {
      for (let i = 0; i + 2 < reply.length; i += 3) out.push(applied(reply[i], reply[i + 1], reply[i + 2]));
    }
    return out;
  }
}

function applied(code: unknown, n1: unknown, n2: unknown): Applied {
  const status = STATUS[Number(code)] ?? 'stale';
  if (status === 'applied' || status === 'uncharged' || status === 'dead')
    return { status, attempt: Number(n1), lost: Number(n2) };
  if (status === 'failed') return { status, problem: String(n1) };
  return { status };
}
