import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import { ACQUIRE_PERMITS_SCRIPT } from './scripts/acquire-permits.lua.js';
import { APPLY_SCRIPT } from './scripts/apply.lua.js';
import { CANCEL_SCRIPT } from './scripts/cancel.lua.js';
import { COUNTS_SCRIPT } from './scripts/counts.lua.js';
import { ENQUEUE_SCRIPT } from './scripts/enqueue.lua.js';
import { FETCH_SCRIPT } from './scripts/fetch.lua.js';
import { FIRE_SCHEDULE_SCRIPT } from './scripts/fire-schedule.lua.js';
import { FORGET_CONSUMERS_SCRIPT } from './scripts/forget-consumers.lua.js';
import { RETRY_DEAD_LETTER_SCRIPT } from './scripts/retry-dead-letter.lua.js';

export interface LuaScript {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

export const Scripts = {
  enqueue: ENQUEUE_SCRIPT,
  fetch: FETCH_SCRIPT,
  apply: APPLY_SCRIPT,
  counts: COUNTS_SCRIPT,
  forgetConsumers: FORGET_CONSUMERS_SCRIPT,
  cancel: CANCEL_SCRIPT,
  acquirePermits: ACQUIRE_PERMITS_SCRIPT,
  fireSchedule: FIRE_SCHEDULE_SCRIPT,
  retryDeadLetter: RETRY_DEAD_LETTER_SCRIPT,
} as const satisfies Record<string, LuaScript>;

export type Arg = string | number;
type Caller = (...args: Arg[]) => Promise<unknown>;

/**
 * The command name a script is defined under: namespaced, and versioned by
 * its source, so two copies of this library sharing one connection (or an
 * app's own `defineCommand`) never run each other's scripts.
 */
const commandName = (script: LuaScript) =>
  `nestjsWorker_${script.name}_${createHash('sha1').update(script.lua).digest('hex').slice(0, 12)}`;

const names = new Map<LuaScript, string>(Object.values(Scripts).map((script) => [script, commandName(script)]));

/**
 * Defines every script on the command connection (`defineCommand`). ioredis
 * then runs them by EVALSHA, sends the source once per connection (again
 * after a reconnect) and falls back to EVAL on NOSCRIPT, in pipelines too,
 * so a server restart that emptied its script cache is handled there.
 */
export function defineScripts(conn: Redis): void {
  for (const [script, name] of names) {
    conn.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
}

/** One call of a script. */
export function runScript(conn: Redis, script: LuaScript, keys: readonly string[], args: readonly Arg[]) {
  return (conn as unknown as Record<string, Caller>)[names.get(script)!]!(...keys, ...args);
}

/** Several calls of one script in one pipeline (one round trip); results in order. Rejects with the first error. */
export async function runScriptMany(
  conn: Redis,
  script: LuaScript,
  keys: readonly string[],
  calls: ReadonlyArray<readonly Arg[]>,
): Promise<unknown[]> {
  if (calls.length === 0) return [];
  if (calls.length === 1) return [await runScript(conn, script, keys, calls[0]!)];
  const pipeline = conn.pipeline() as ChainableCommander & Record<string, (...args: Arg[]) => unknown>;
  const name = names.get(script)!;
  for (const args of calls) pipeline[name]!(...keys, ...args);
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
