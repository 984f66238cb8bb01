/**
 * The Lua of adding one task, shared by ENQUEUE and FIRE_SCHEDULE (appended
 * to the prelude). One task's values, in this order (TASK_VALUES of them):
 * id, name, payload (JSON), maxAttempts ('' for none), priority, delayMs,
 * trace context, unique key, onDuplicate ('keep' or 'replace'), concurrency
 * key ('' for none, each).
 */
export const TASK_VALUES = 10;

export const ENQUEUE_CORE = `
-- A waiting task's place: the delayed set, or the end of its band's stream.
local function place(rk, id, prio, delay, name, payload, attempt, maxA, enqueuedAt, trace, ckey)
  local runAt = now + delay
  redis.call('HSET', rk, 'runAt', fmt(runAt), 'state', delay > 0 and 'delayed' or 'queued')
  if delay > 0 then redis.call('ZADD', KEYS[4], runAt, id)
  else addEntry(rk, band(prio), id, name, payload, attempt, maxA, enqueuedAt, trace, ckey) end
end

local function setOrDel(rk, f, v)
  if v ~= '' then redis.call('HSET', rk, f, v) else redis.call('HDEL', rk, f) end
end

-- onDuplicate 'replace': the waiting task takes the new payload and options,
-- keeps its id, attempt, errors and enqueuedAt, and moves to where the new
-- delay and priority put it. Its old place is emptied first: the delayed
-- set, or its stream entry (read by a consumer or not, see neutralise).
local function replace(rk, id, st, payload, maxA, prio, delay, trace, ckey)
  local r = redis.call('HMGET', rk, 'entry', 'priority', 'name', 'attempt', 'enqueuedAt')
  if st == 'delayed' then redis.call('ZREM', KEYS[4], id)
  elseif r[1] then neutralise(band(r[2]), r[1]) end
  redis.call('HSET', rk, 'payload', payload, 'priority', prio)
  setOrDel(rk, 'maxAttempts', maxA)
  setOrDel(rk, 'trace', trace)
  setOrDel(rk, 'concurrencyKey', ckey)
  place(rk, id, prio, delay, r[3], payload, r[4] or '1', maxA, r[5] or nowS, trace, ckey)
end

-- Adds one task, or answers with the task already there: one with its id
-- (ids are deduplication keys), or the one holding its unique key while it
-- waits or runs. A key whose holder finished (or whose record expired) is
-- free, whether or not that finish freed it. Returns the task's id.
local function enqueueOne(id, name, payload, maxA, prio, delay, trace, ukey, onDup, ckey)
  local rk = rp .. id
  if redis.call('EXISTS', rk) == 1 then return id end
  local uk
  if ukey ~= '' then
    uk = scoped('unique:', name, ukey)
    local cur = redis.call('GET', uk)
    if cur then
      local st = redis.call('HGET', rp .. cur, 'state')
      if st == 'queued' or st == 'delayed' then
        if onDup == 'replace' then replace(rp .. cur, cur, st, payload, maxA, prio, delay, trace, ckey) end
        return cur
      end
      -- A running task is kept either way: its payload is in a thread already.
      if st == 'running' then return cur end
    end
  end
  redis.call('HSET', rk, 'name', name, 'payload', payload, 'attempt', 1, 'priority', prio, 'enqueuedAt', nowS)
  if maxA ~= '' then redis.call('HSET', rk, 'maxAttempts', maxA) end
  if trace ~= '' then redis.call('HSET', rk, 'trace', trace) end
  if ckey ~= '' then redis.call('HSET', rk, 'concurrencyKey', ckey) end
  if uk then
    redis.call('HSET', rk, 'uniqueKey', ukey)
    redis.call('SET', uk, id)
  end
  place(rk, id, prio, delay, name, payload, 1, maxA, nowS, trace, ckey)
  return id
end

local function enqueueAt(a)
  return enqueueOne(ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], tonumber(ARGV[a + 5]), ARGV[a + 6],
    ARGV[a + 7], ARGV[a + 8], ARGV[a + 9])
end
`;
