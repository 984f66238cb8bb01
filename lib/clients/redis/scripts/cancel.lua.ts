import { PRELUDE, SCRIPT_KEYS } from './prelude.lua.js';

/**
 * Cancels a task that waits or runs, in one script. ARGV 4: task id, 5:
 * keepCompletedMs (a cancelled record is kept as long as a completed one).
 * - delayed: out of the delayed set.
 * - queued: its stream entry is deleted, so no consumer reads it; one that
 *   read it already and has not recorded the run yet (between XREADGROUP and
 *   its 'run' op) finds it acknowledged and drops it (see neutralise).
 * - running: the same is done to the entry its holder has: the holder's
 *   outcomes are fenced (APPLY answers CANCELLED) and its next lease
 *   extension finds the delivery lost; and the holder is told now, by a
 *   PUBLISH on `<base>cancels` (the task id) that its watchCancels() hears.
 *   Its concurrency permit stays the holder's until the holder's outcome
 *   comes or its lease runs out: the thread may still be stopping.
 * Frees the task's unique key, counts it (stats 'cancelled').
 * Returns 1 when cancelled, 0 when the task is unknown or finished.
 */
export const CANCEL_SCRIPT = {
  name: 'cancel',
  numberOfKeys: SCRIPT_KEYS,
  lua: `${PRELUDE}
local id = ARGV[4]
local rk = rp .. id
local r = redis.call('HMGET', rk, 'state', 'entry', 'priority')
local state = r[1]
if state ~= 'queued' and state ~= 'delayed' and state ~= 'running' then return 0 end
local held = state == 'running'
if state == 'delayed' then
  redis.call('ZREM', KEYS[4], id)
elseif r[2] then
  local b = band(r[3])
  local p = redis.pcall('XPENDING', KEYS[b], group, r[2], r[2], 1)
  if type(p) == 'table' and not p.err and p[1] then held = true end
  neutralise(b, r[2])
end
freeUnique(rk, id)
redis.call('HSET', rk, 'state', 'cancelled', 'finishedAt', nowS)
redis.call('PEXPIRE', rk, tonumber(ARGV[5]))
redis.call('HINCRBY', KEYS[6], 'cancelled', 1)
if held then redis.call('PUBLISH', base .. 'cancels', id) end
return 1`,
} as const;
