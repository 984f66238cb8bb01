import { PRELUDE, SCRIPT_KEYS } from './prelude.lua.js';

/**
 * Applies a batch of operations on delivered entries. Each is fenced: it only
 * applies while this consumer still holds the entry with the delivery count
 * it was given (XPENDING). A consumer that lost an entry to XAUTOCLAIM, even
 * one that claimed it back later, cannot overwrite the newer delivery's work.
 *
 * ARGV 4: keepCompletedMs, 5: keepFailedMs; 6: attempt limit of task names
 * not listed, 7: how many are listed, then that many name, limit pairs (the
 * @Task policies the consumer registered; sent only with takeover ops);
 * then the op count and per op: op, band, entry id, deliveries, task id,
 * attempt, x, y, z. Returns per op 0 (stale: not applied), 1 (applied) or,
 * for takeover, 2 (dead-lettered instead of run).
 *   run       x: '' (a first delivery)
 *   takeover  a delivery after lost leases; attempt counts them.
 *             x: error JSON of the lost attempt, y: the task's own maxAttempts ('' for none), z: task name
 *   completed x: result JSON, y: '1' when there is a result
 *   failed    x: reason, y: error JSON
 *   retry     x: next attempt, y: delay ms, z: error JSON
 *   released, extend
 */
export const APPLY_SCRIPT = {
  name: 'apply',
  numberOfKeys: SCRIPT_KEYS,
  lua: `${PRELUDE}
local keepDone, keepFailed, fallback = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local limits, a = {}, 8
for _ = 1, tonumber(ARGV[7]) do
  limits[ARGV[a]] = tonumber(ARGV[a + 1])
  a = a + 2
end
local reserved = {id = 1, attempt = 1, reason = 1, error = 1, errors = 1, failedAt = 1, entry = 1, stream = 1}
local function owned(key, eid, d)
  local p = redis.pcall('XPENDING', key, group, eid, eid, 1)
  if type(p) ~= 'table' or p.err or not p[1] then return false end
  return p[1][2] == consumer and p[1][4] == tonumber(d)
end
local function remove(key, eid)
  redis.call('XACK', key, group, eid)
  redis.call('XDEL', key, eid)
end
local function run(key, eid, rk, b, attempt, lostError)
  if redis.call('HEXISTS', rk, 'name') == 0 then
    local f = entryFields(key, eid)
    redis.call('HSET', rk, 'name', field(f, 'name') or '', 'payload', field(f, 'payload') or 'null',
      'priority', ({'1', '0', '-1'})[b], 'enqueuedAt', field(f, 'enqueuedAt') or string.match(eid, '^%d+'), 'runAt', nowS)
    if field(f, 'maxAttempts') then redis.call('HSET', rk, 'maxAttempts', field(f, 'maxAttempts')) end
  end
  redis.call('HSET', rk, 'state', 'running', 'attempt', attempt, 'startedAt', nowS)
  if lostError ~= '' then redis.call('HSET', rk, 'err:' .. (tonumber(attempt) - 1), lostError) end
end
local function deadLetter(key, eid, rk, id, attempt, reason, err)
  local f = entryFields(key, eid)
  redis.call('HSET', rk, 'state', 'failed', 'attempt', attempt, 'failureReason', reason, 'finishedAt', nowS, 'err:' .. attempt, err)
  if redis.call('HEXISTS', rk, 'name') == 0 then redis.call('HSET', rk, 'name', field(f, 'name') or '', 'enqueuedAt', string.match(eid, '^%d+')) end
  local n = tonumber(attempt)
  local names = {}
  for k = math.max(1, n - 999), n do names[#names + 1] = 'err:' .. k end
  local errs, list = redis.call('HMGET', rk, unpack(names)), {}
  for k = 1, #names do if errs[k] then list[#list + 1] = errs[k] end end
  local dead = {}
  for k = 1, #f - 1, 2 do
    if not reserved[f[k]] then dead[#dead + 1] = f[k]; dead[#dead + 1] = f[k + 1] end
  end
  for _, v in ipairs({'id', id, 'attempt', attempt, 'reason', reason, 'error', err, 'errors', '[' .. table.concat(list, ',') .. ']',
    'failedAt', nowS, 'entry', eid, 'stream', key}) do dead[#dead + 1] = v end
  -- Trimmed by age: dead letters live as long as failed records (keepFailedMs).
  redis.call('XADD', KEYS[5], 'MINID', '~', fmt(now - keepFailed), '*', unpack(dead))
  redis.call('PEXPIRE', rk, keepFailed)
  remove(key, eid)
  redis.call('HINCRBY', KEYS[6], 'failed', 1)
end
local out = {}
local count = tonumber(ARGV[a])
a = a + 1
for i = 1, count do
  local op, b, eid, d, id, attempt, x, y, z = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8]
  a = a + 9
  local key, rk = KEYS[b], rp .. id
  if not owned(key, eid, d) then
    out[i] = 0
  else
    out[i] = 1
    if op == 'extend' then
      -- JUSTID: resets the idle time without counting a delivery.
      redis.call('XCLAIM', key, group, consumer, 0, eid, 'JUSTID')
    elseif op == 'run' then
      run(key, eid, rk, b, attempt, x)
    elseif op == 'takeover' then
      -- Each lost lease was an attempt: past the task's limit (its own, its
      -- name's registered one, else the fallback) it is a crash, not a run.
      local lost = tonumber(attempt) - 1
      if lost >= (tonumber(y) or limits[z] or fallback) then
        deadLetter(key, eid, rk, id, fmt(lost), 'crash', x)
        out[i] = 2
      else
        run(key, eid, rk, b, attempt, x)
      end
    elseif op == 'completed' then
      redis.call('HSET', rk, 'state', 'completed', 'attempt', attempt, 'finishedAt', nowS)
      if y == '1' then redis.call('HSET', rk, 'result', x) else redis.call('HDEL', rk, 'result') end
      redis.call('PEXPIRE', rk, keepDone)
      remove(key, eid)
      redis.call('HINCRBY', KEYS[6], 'completed', 1)
    elseif op == 'failed' then
      deadLetter(key, eid, rk, id, attempt, x, y)
    elseif op == 'retry' then
      redis.call('HSET', rk, 'err:' .. attempt, z)
      local delay = tonumber(y)
      if delay <= 0 then
        requeue(rk, id, b, x, key, eid)
      else
        redis.call('HSET', rk, 'state', 'delayed', 'attempt', x, 'runAt', fmt(now + delay))
        redis.call('ZADD', KEYS[4], now + delay, id)
      end
      remove(key, eid)
    elseif op == 'released' then
      requeue(rk, id, b, attempt, key, eid)
      remove(key, eid)
    end
  end
end
return out`,
} as const;
