import { PRELUDE, SCRIPT_KEYS } from './prelude.lua.js';

/**
 * Puts a dead letter back in its queue as attempt 1, at the end of its
 * band's stream (its errors kept, the next run's numbered after them), and
 * deletes its dead-letter entry when the record names it. Its unique key is taken again if no other task took
 * it meanwhile (else the task goes on without it). ARGV 4: task id.
 * Returns 1, or 0 when the id is not a dead letter whose record is kept.
 */
export const RETRY_DEAD_LETTER_SCRIPT = {
  name: 'retryDeadLetter',
  numberOfKeys: SCRIPT_KEYS,
  lua: `${PRELUDE}
local id = ARGV[4]
local rk = rp .. id
local r = redis.call('HMGET', rk, 'state', 'priority', 'name', 'payload', 'maxAttempts', 'enqueuedAt', 'trace',
  'concurrencyKey', 'uniqueKey', 'deadEntry', 'attempt', 'errBase')
if r[1] ~= 'failed' then return 0 end
redis.call('PERSIST', rk)
redis.call('HDEL', rk, 'failureReason', 'finishedAt', 'settled', 'lost', 'deadEntry')
if r[10] then redis.call('XDEL', KEYS[5], r[10]) end
redis.call('HINCRBY', KEYS[6], 'failed', -1)
if r[9] then
  local uk = scoped('unique:', r[3], r[9])
  local cur = redis.call('GET', uk)
  local st = cur and redis.call('HGET', rp .. cur, 'state')
  if st == 'queued' or st == 'delayed' or st == 'running' then redis.call('HDEL', rk, 'uniqueKey')
  else redis.call('SET', uk, id) end
end
-- The new run's errors go after the kept ones (see errSlot in APPLY), so it overwrites none of them.
local errBase = (tonumber(r[12]) or 0) + (tonumber(r[11]) or 1)
redis.call('HSET', rk, 'state', 'queued', 'attempt', 1, 'runAt', nowS, 'errBase', errBase)
addEntry(rk, band(r[2]), id, r[3] or '', r[4] or 'null', 1, r[5], r[6] or nowS, r[7], r[8])
return 1`,
} as const;
