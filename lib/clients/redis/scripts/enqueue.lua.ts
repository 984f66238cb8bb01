import { PRELUDE, SCRIPT_KEYS } from './prelude.lua.js';

/**
 * Adds tasks whose record does not exist yet (an existing id is left as it
 * is: ids are deduplication keys). ARGV 4: task count, then per task: id,
 * name, payload (JSON), maxAttempts ('' for none), priority, delayMs, trace
 * context ('' for none).
 * Returns 1 per added task, 0 per id that exists already.
 */
export const ENQUEUE_SCRIPT = {
  name: 'enqueue',
  numberOfKeys: SCRIPT_KEYS,
  lua: `${PRELUDE}
local out, a = {}, 5
for i = 1, tonumber(ARGV[4]) do
  local id, name, payload, maxA, prio, delay = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], tonumber(ARGV[a + 5])
  local trace = ARGV[a + 6]
  a = a + 7
  local rk = rp .. id
  if redis.call('EXISTS', rk) == 1 then
    out[i] = 0
  else
    local runAt = now + delay
    redis.call('HSET', rk, 'name', name, 'payload', payload, 'attempt', 1, 'priority', prio, 'enqueuedAt', nowS,
      'runAt', fmt(runAt), 'state', delay > 0 and 'delayed' or 'queued')
    if maxA ~= '' then redis.call('HSET', rk, 'maxAttempts', maxA) end
    if trace ~= '' then redis.call('HSET', rk, 'trace', trace) end
    if delay > 0 then redis.call('ZADD', KEYS[4], runAt, id) else addEntry(rk, band(prio), id, name, payload, 1, maxA, nowS, trace) end
    out[i] = 1
  end
end
return out`,
} as const;
