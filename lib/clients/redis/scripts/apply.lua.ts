import { MAX_COPIED_FIELDS, PRELUDE, SCRIPT_KEYS } from './prelude.lua.js';

/** Where a lease-expired error template takes the number of the lost attempt (see leaseExpiredTemplate). */
export const ATTEMPT_SLOT = '{{attempt}}';

/**
 * Losses of a task's deliveries that nobody noted as started, on top of its
 * attempt limit, before it is dead-lettered anyway: a task that kills its
 * process before markStarted() reaches Redis must not be redelivered forever.
 */
export const UNNOTED_LOSSES = 3;

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
 * attempt, x, y, z.
 *   run       a first delivery; attempt: the entry's
 *   takeover  a delivery after lost leases; attempt: the entry's.
 *             x: lease-expired error JSON with ATTEMPT_SLOT, y: the task's own maxAttempts ('' for none), z: task name
 *   started   the delivery reached a worker thread
 *   completed x: result JSON, y: '1' when there is a result
 *   failed    x: reason, y: error JSON
 *   retry     x: next attempt, y: delay ms, z: error JSON
 *   released  x: delay ms (0: at the end of its stream at once); same attempt
 *   cancelled the loop stopped the delivery of a cancelled task
 *   progress  x: the latest progress (JSON)
 *   extend    x: lease ms (a concurrency permit the delivery holds is kept as long)
 * Every outcome (completed, failed, retry, released, cancelled) gives back the
 * delivery's concurrency permit, and so does a takeover for the lost one.
 * Returns three values per op: a code, then for run/takeover the attempt of
 * the delivery and the task's lost deliveries, for FAILED the error text.
 *   0 STALE    another delivery holds or held the entry: nothing changed
 *   1 APPLIED
 *   2 DEAD     takeover found the task out of attempts: dead-lettered as a crash
 *   3 DONE     this delivery's outcome was recorded before (a resent op whose reply was lost)
 *   4 GONE     neither the entry nor the task's record exists: Redis lost its data
 *   5 FAILED   the entry's data breaks a command: dead-lettered as invalid where possible
 *   6 UNCHARGED takeover: applied, and the lost delivery had not started, so it was no attempt
 *   7 CANCELLED the task was cancelled (cancel(id)): this delivery is over, nothing changed but its permit
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
local STALE, APPLIED, DEAD, DONE, GONE, FAILED, UNCHARGED, CANCELLED = 0, 1, 2, 3, 4, 5, 6, 7
local reserved = {id = 1, attempt = 1, reason = 1, error = 1, errors = 1, failedAt = 1, entry = 1, stream = 1, droppedFields = 1}
-- Errors of the server's state, not of the entry: the whole call fails and is retried.
local transient = {OOM = 1, READONLY = 1, MISCONF = 1, NOREPLICAS = 1, MASTERDOWN = 1, LOADING = 1, BUSY = 1, NOPERM = 1, TRYAGAIN = 1}

local function settledMark(eid, d) return eid .. '/' .. d end

-- Whether this consumer still holds delivery d of the entry, and if not, why.
local function holder(key, eid, d, rk)
  local p = redis.pcall('XPENDING', key, group, eid, eid, 1)
  local missing = type(p) ~= 'table' or p.err
  if not missing and p[1] then
    if p[1][2] == consumer and p[1][4] == tonumber(d) then return APPLIED end
    return STALE
  end
  -- Not pending: settled by this very delivery (its reply was lost and the op
  -- resent), settled by a later delivery elsewhere, or lost with the data.
  local r = redis.call('HMGET', rk, 'state', 'settled')
  if r[2] == settledMark(eid, d) then return DONE end
  -- cancel(id) took the entry from its holder (see CANCEL): the holder's
  -- outcome is fenced like a stale one, but quietly, and ends the delivery.
  if r[1] == 'cancelled' then return CANCELLED end
  if missing or not r[1] then return GONE end
  return STALE
end

local function remove(key, b, eid)
  redis.call('XACK', key, group, eid)
  redis.call('XDEL', key, eid)
  redis.call('HDEL', KEYS[7], b .. ':' .. eid)
end

-- A task's record describes the entry last delivered under its id. An entry
-- the record does not name was added by another producer (XADD), perhaps
-- reusing the id of an older task: it replaces the record, so that a retry
-- or a release requeues what was delivered, not the older task's payload.
local function adopt(key, b, eid, rk, attempt)
  local cur = redis.call('HGET', rk, 'entry')
  if cur == eid then return end
  local f = entryFields(key, eid)
  local name, payload = field(f, 'name') or '', field(f, 'payload') or 'null'
  if not cur then
    -- A record written before records named their entry: the same task if it holds the same task.
    local r = redis.call('HMGET', rk, 'name', 'payload')
    if r[1] == name and r[2] == payload then
      redis.call('HSET', rk, 'entry', eid)
      return
    end
  end
  redis.call('DEL', rk)
  redis.call('HSET', rk, 'entry', eid, 'name', name, 'payload', payload, 'priority', ({'1', '0', '-1'})[b],
    'enqueuedAt', field(f, 'enqueuedAt') or string.match(eid, '^%d+'), 'runAt', nowS, 'attempt', attempt)
  if field(f, 'maxAttempts') then redis.call('HSET', rk, 'maxAttempts', field(f, 'maxAttempts')) end
end

-- Where an attempt's error goes: field 'err:' .. errSlot(rk, attempt). A dead
-- letter put back (retryDeadLetter) runs from attempt 1 again with its errors
-- kept: 'errBase' counts them, so the new run's errors follow them instead of
-- overwriting them. A record without 'errBase' was never put back (or
-- predates it): base 0.
local function errSlot(rk, attempt)
  return (tonumber(redis.call('HGET', rk, 'errBase')) or 0) + tonumber(attempt)
end

local function run(key, b, eid, rk, attempt)
  adopt(key, b, eid, rk, attempt)
  redis.call('HSET', rk, 'state', 'running', 'attempt', attempt, 'startedAt', nowS)
end

local function deadLetter(key, b, eid, d, rk, id, attempt, reason, err)
  adopt(key, b, eid, rk, attempt)
  local n = errSlot(rk, attempt)
  redis.call('HSET', rk, 'state', 'failed', 'attempt', attempt, 'failureReason', reason, 'finishedAt', nowS,
    'err:' .. fmt(n), err, 'settled', settledMark(eid, d))
  local names = {}
  for k = math.max(1, n - 999), n do names[#names + 1] = 'err:' .. k end
  local errs, list = redis.call('HMGET', rk, unpack(names)), {}
  for k = 1, #names do if errs[k] then list[#list + 1] = errs[k] end end
  -- The producer's own fields are kept, up to MAX_COPIED_FIELDS: an entry may hold any number.
  local f, dead, dropped = entryFields(key, eid), {}, 0
  for k = 1, #f - 1, 2 do
    if reserved[f[k]] then
    elseif #dead < ${2 * MAX_COPIED_FIELDS} then dead[#dead + 1] = f[k]; dead[#dead + 1] = f[k + 1]
    else dropped = dropped + 1 end
  end
  if dropped > 0 then dead[#dead + 1] = 'droppedFields'; dead[#dead + 1] = fmt(dropped) end
  for _, v in ipairs({'id', id, 'attempt', attempt, 'reason', reason, 'error', err, 'errors', '[' .. table.concat(list, ',') .. ']',
    'failedAt', nowS, 'entry', eid, 'stream', key}) do dead[#dead + 1] = v end
  -- Trimmed by age: dead letters live as long as failed records (keepFailedMs).
  -- The record names its dead letter, which retryDeadLetter(id) deletes.
  local deadEntry = redis.call('XADD', KEYS[5], 'MINID', '~', fmt(now - keepFailed), '*', unpack(dead))
  redis.call('HSET', rk, 'deadEntry', deadEntry)
  freeUnique(rk, id)
  redis.call('PEXPIRE', rk, keepFailed)
  remove(key, b, eid)
  redis.call('HINCRBY', KEYS[6], 'failed', 1)
end

local function lostError(template, n) return (string.gsub(template, '${ATTEMPT_SLOT}', fmt(n))) end

-- A delivery after lost leases (XAUTOCLAIM). A lost delivery is an attempt
-- only if it reached a worker thread (markStarted noted its delivery count):
-- the tasks a killed process had only prefetched keep their attempts. Losses
-- nobody noted are bounded too, so that a task killing its process before
-- the note is sent still ends dead-lettered.
local function takeover(key, b, eid, d, rk, id, attempt, template, own, name)
  adopt(key, b, eid, rk, attempt)
  local cur = tonumber(redis.call('HGET', rk, 'attempt')) or tonumber(attempt)
  local started = redis.call('HGET', KEYS[7], b .. ':' .. eid) == fmt(tonumber(d) - 1)
  local lost = redis.call('HINCRBY', rk, 'lost', 1)
  -- The lost delivery's lease ran out: so did its concurrency permit.
  releasePermit(rk, b, eid, tonumber(d) - 1)
  local limit = tonumber(own) or limits[name] or fallback
  if (started and cur >= limit) or lost >= limit + ${UNNOTED_LOSSES} then
    deadLetter(key, b, eid, d, rk, id, fmt(cur), 'crash', lostError(template, cur))
    return DEAD, cur, lost
  end
  if not started then
    run(key, b, eid, rk, fmt(cur))
    return UNCHARGED, cur, lost
  end
  redis.call('HSET', rk, 'err:' .. fmt(errSlot(rk, cur)), lostError(template, cur))
  run(key, b, eid, rk, fmt(cur + 1))
  return APPLIED, cur + 1, lost
end

-- The task was cancelled (by another process, or the store had not heard
-- of the loop's cancel yet): marked so, its entry gone, its key free.
local function cancelled(key, b, eid, d, rk, id)
  freeUnique(rk, id)
  redis.call('HSET', rk, 'state', 'cancelled', 'finishedAt', nowS, 'settled', settledMark(eid, d))
  redis.call('PEXPIRE', rk, keepDone)
  remove(key, b, eid)
  redis.call('HINCRBY', KEYS[6], 'cancelled', 1)
end

local outcomes = {completed = 1, failed = 1, retry = 1, released = 1, cancelled = 1}

local function apply(op, key, b, eid, d, rk, id, attempt, x, y, z)
  local held = holder(key, eid, d, rk)
  if held == CANCELLED and outcomes[op] then releasePermit(rk, b, eid, d) end
  if held ~= APPLIED then return held end
  if outcomes[op] then releasePermit(rk, b, eid, d) end
  if op == 'extend' then
    -- JUSTID: resets the idle time without counting a delivery.
    redis.call('XCLAIM', key, group, consumer, 0, eid, 'JUSTID')
    -- A concurrency permit lives as long as the lease: a holder that stops extending gives it up.
    local r, lease = redis.call('HMGET', rk, 'name', 'concurrencyKey'), tonumber(x)
    if lease and r[1] and r[2] then
      local ck = scoped('concurrency:', r[1], r[2])
      if redis.call('ZADD', ck, 'XX', 'CH', now + lease, token(b, eid, d)) == 1 then redis.call('PEXPIRE', ck, 3 * lease) end
    end
  elseif op == 'progress' then
    redis.call('HSET', rk, 'progress', x)
  elseif op == 'cancelled' then
    cancelled(key, b, eid, d, rk, id)
  elseif op == 'started' then
    redis.call('HSET', KEYS[7], b .. ':' .. eid, d)
  elseif op == 'run' then
    run(key, b, eid, rk, attempt)
    return APPLIED, tonumber(attempt), 0
  elseif op == 'takeover' then
    return takeover(key, b, eid, d, rk, id, attempt, x, y, z)
  elseif op == 'completed' then
    redis.call('HSET', rk, 'state', 'completed', 'attempt', attempt, 'finishedAt', nowS, 'settled', settledMark(eid, d))
    if y == '1' then redis.call('HSET', rk, 'result', x) else redis.call('HDEL', rk, 'result') end
    freeUnique(rk, id)
    redis.call('PEXPIRE', rk, keepDone)
    remove(key, b, eid)
    redis.call('HINCRBY', KEYS[6], 'completed', 1)
  elseif op == 'failed' then
    deadLetter(key, b, eid, d, rk, id, attempt, x, y)
  elseif op == 'retry' then
    redis.call('HSET', rk, 'err:' .. fmt(errSlot(rk, attempt)), z)
    local delay = tonumber(y)
    if delay <= 0 then
      requeue(rk, id, b, x, key, eid)
    else
      redis.call('HSET', rk, 'state', 'delayed', 'attempt', x, 'runAt', fmt(now + delay))
      redis.call('ZADD', KEYS[4], now + delay, id)
    end
    redis.call('HSET', rk, 'settled', settledMark(eid, d))
    remove(key, b, eid)
  elseif op == 'released' then
    -- Uncharged either way: a delay is a wait for a rate limit or a concurrency permit.
    local delay = tonumber(x) or 0
    if delay <= 0 then
      requeue(rk, id, b, attempt, key, eid)
    else
      adopt(key, b, eid, rk, attempt)
      redis.call('HSET', rk, 'state', 'delayed', 'attempt', attempt, 'runAt', fmt(now + delay))
      redis.call('ZADD', KEYS[4], now + delay, id)
    end
    redis.call('HSET', rk, 'settled', settledMark(eid, d))
    remove(key, b, eid)
  end
  return APPLIED
end

-- An op that can never succeed on this entry (its data breaks a command):
-- the entry goes to the dead-letter stream as well as it can, so that it is
-- neither redelivered forever nor holds up the outcomes published with it.
local function quarantine(key, b, eid, id, problem)
  local f = entryFields(key, eid)
  local err = cjson.encode({name = 'InvalidStreamEntryError', code = 'ERR_WORKER_INVALID_STREAM_ENTRY',
    message = 'Stream entry ' .. eid .. ' of ' .. key .. ' cannot be handled: Redis refused an operation on it (' .. problem ..
      '). It was moved to the dead-letter stream with reason "invalid-payload" and will not be retried.'})
  redis.call('XADD', KEYS[5], 'MINID', '~', fmt(now - keepFailed), '*', 'id', id, 'name', field(f, 'name') or '',
    'payload', field(f, 'payload') or 'null', 'attempt', '1', 'reason', 'invalid-payload', 'error', err, 'errors', '[' .. err .. ']',
    'failedAt', nowS, 'entry', eid, 'stream', key)
  remove(key, b, eid)
  redis.call('HINCRBY', KEYS[6], 'failed', 1)
end

local out = {}
local count = tonumber(ARGV[a])
-- A consumer that extends is expected to go on every leaseMs / 3 while it
-- holds tasks: when it stops, FETCH may take its unstarted deliveries early.
for i = 0, count - 1 do
  if ARGV[a + 1 + 9 * i] == 'extend' then
    redis.call('HSET', KEYS[8], consumer, nowS)
    break
  end
end
a = a + 1
for _ = 1, count do
  local op, b, eid, d, id, attempt, x, y, z = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8]
  a = a + 9
  -- One op's fault must not fail the others of the call (a script that errors keeps what it wrote so far).
  local ok, code, n1, n2 = pcall(apply, op, KEYS[b], b, eid, d, rp .. id, id, attempt, x, y, z)
  if not ok then
    local problem = type(code) == 'table' and tostring(code.err) or tostring(code)
    if transient[string.match(problem, '^(%u+) ') or ''] then return redis.error_reply(problem) end
    code, n1, n2 = FAILED, problem, 0
    if op ~= 'extend' and op ~= 'started' and op ~= 'progress' then pcall(quarantine, KEYS[b], b, eid, id, problem) end
  end
  out[#out + 1] = code
  out[#out + 1] = n1 or 0
  out[#out + 1] = n2 or 0
end
return out`,
} as const;
