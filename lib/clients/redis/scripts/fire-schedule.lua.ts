import { ENQUEUE_CORE } from './enqueue-core.lua.js';
import { PRELUDE, SCRIPT_KEYS } from './prelude.lua.js';

/**
 * One tick of a schedule, offered by any number of processes: a compare and
 * set of the schedule's marker (field of the hash `<base>schedules`, the
 * last tick fired or recorded) and the enqueue, in one script, so that of N
 * processes offering the same tick exactly one fires it.
 * ARGV 4: the schedule's key, 5: tick (epoch ms), 6: whenNew ('fire' or
 * 'record'), then the task's values (see enqueue-core.lua.ts).
 * Returns the id of the task fired, or false (nil) when the tick was not
 * later than the marker, or it only recorded a new schedule's first tick.
 */
export const FIRE_SCHEDULE_SCRIPT = {
  name: 'fireSchedule',
  numberOfKeys: SCRIPT_KEYS,
  lua: `${PRELUDE}${ENQUEUE_CORE}
local markers, key, tick = base .. 'schedules', ARGV[4], tonumber(ARGV[5])
local last = tonumber(redis.call('HGET', markers, key))
if last and tick <= last then return false end
redis.call('HSET', markers, key, ARGV[5])
if not last and ARGV[6] == 'record' then return false end
return enqueueAt(7)`,
} as const;
