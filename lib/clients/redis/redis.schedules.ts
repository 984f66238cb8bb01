import type { Redis } from 'ioredis';
import type { ScheduleFire } from '../../interfaces/task-store.interface.js';
import { enqueueArgs } from './redis.codec.js';
import { runScript, Scripts } from './redis.commands.js';
import { GROUP, type RedisKeys } from './redis.keys.js';

/**
 * `fireSchedule()`: the schedule's marker compare-and-set and the enqueue of
 * its task in one script (see scripts/fire-schedule.lua.ts), so that of any
 * number of processes offering one tick, one fires it.
 */
export async function fireSchedule(
  conn: Redis,
  keys: RedisKeys,
  consumer: string,
  fire: ScheduleFire,
  newId: () => string,
): Promise<string | undefined> {
  const { key, tick, task, whenNew } = fire ?? ({} as ScheduleFire);
  if (typeof key !== 'string' || key === '' || !Number.isFinite(tick) || (whenNew !== 'fire' && whenNew !== 'record')) {
    throw new TypeError(
      'RedisTaskClient.fireSchedule(): pass { key: a non-empty string, tick: epoch ms, task, whenNew: "fire" or "record" }.',
    );
  }
  const args = [GROUP, consumer, keys.recordPrefix, key, Math.round(tick), whenNew, ...enqueueArgs(task, newId)];
  const id = await runScript(conn, Scripts.fireSchedule, keys.scriptKeys, args);
  return typeof id === 'string' ? id : undefined;
}
