/*
 * The Lua side of RedisTaskClient, one module per script, all starting with
 * this prelude. Every state change of a task is one script, so it is atomic
 * against every other consumer and producer: a task is never both in the
 * delayed set and in a stream, a record never says `completed` for an entry
 * another consumer still holds.
 *
 * KEYS of every script (see RedisKeys.scriptKeys): 1-3 the high, normal and
 * low streams, 4 the delayed set, 5 the dead-letter stream, 6 the counters,
 * 7 the started deliveries (field `<band>:<entry id>`, value the delivery
 * count that reached a worker thread), 8 when each consumer last extended
 * its leases (field the consumer, value server ms).
 * ARGV 1-3: consumer group, this consumer's name, record key prefix.
 *
 * Times come from the server's clock (TIME), never from the caller's: delays,
 * leases and record timestamps stay consistent across machines whose clocks
 * disagree.
 *
 * Lua's unpack() and a command's arguments are limited to about 8,000 values
 * (its C stack): nothing here unpacks a list whose length a producer decides.
 */

/** KEYS every script is given, in RedisKeys.scriptKeys order. */
export const SCRIPT_KEYS = 8;

/** Fields of another producer's entry copied to its dead letter, at most (the rest are counted, not kept). */
export const MAX_COPIED_FIELDS = 1000;

export const PRELUDE = `
local group, consumer, rp = ARGV[1], ARGV[2], ARGV[3]
-- The queue's key base: the record prefix without its 'task:' (see RedisKeys).
local base = string.sub(rp, 1, -6)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function fmt(n) return string.format('%d', n) end
local nowS = fmt(now)
local function band(priority)
  local p = tonumber(priority) or 0
  if p > 0 then return 1 elseif p < 0 then return 3 else return 2 end
end
local function field(f, k)
  for i = 1, #f - 1, 2 do if f[i] == k then return f[i + 1] end end
  return nil
end
local function entryFields(key, eid)
  local r = redis.call('XRANGE', key, eid, eid)
  if r[1] then return r[1][2] end
  return {}
end
-- The record notes the entry it was last queued as ('entry'): a delivered
-- entry it does not name was written by someone else (see adopt in APPLY).
-- 'trace': the enqueuing code's trace context, when it had one.
-- 'concurrencyKey': enqueue(..., { concurrencyKey }), for the envelope.
local function addEntry(rk, b, id, name, payload, attempt, maxAttempts, enqueuedAt, trace, ckey)
  local f = {'id', id, 'name', name, 'payload', payload, 'attempt', attempt, 'enqueuedAt', enqueuedAt}
  if maxAttempts and maxAttempts ~= '' then f[#f + 1] = 'maxAttempts'; f[#f + 1] = maxAttempts end
  if trace and trace ~= '' then f[#f + 1] = 'trace'; f[#f + 1] = trace end
  if ckey and ckey ~= '' then f[#f + 1] = 'concurrencyKey'; f[#f + 1] = ckey end
  local eid = redis.call('XADD', KEYS[b], '*', unpack(f))
  redis.call('HSET', rk, 'entry', eid)
  return eid
end
-- Puts a task back at the end of stream b with the given attempt, from its
-- record, or from its current entry when a foreign producer's task has none
-- (the fields a task is made of, not every field the producer wrote).
local function requeue(rk, id, b, attempt, key, eid)
  local r = redis.call('HMGET', rk, 'name', 'payload', 'maxAttempts', 'enqueuedAt', 'trace', 'concurrencyKey')
  if not r[1] then
    if not key then return false end
    local f = entryFields(key, eid)
    if #f == 0 then return false end
    r = {field(f, 'name') or '', field(f, 'payload'), field(f, 'maxAttempts'), field(f, 'enqueuedAt'), field(f, 'trace'),
      field(f, 'concurrencyKey')}
  end
  addEntry(rk, b, id, r[1], r[2] or 'null', attempt, r[3], r[4] or nowS, r[5], r[6])
  redis.call('HSET', rk, 'state', 'queued', 'attempt', attempt, 'runAt', nowS)
  return true
end
-- Per task name and key (the name's length first, so that no two pairs
-- share a key): the id holding a unique key, and the holders of a
-- concurrency key's permits.
local function scoped(kind, name, key) return base .. kind .. ':' .. #name .. ':' .. name .. ':' .. key end
-- A delivery's own name: what holds a concurrency permit (see ACQUIRE).
local function token(b, eid, d) return b .. ':' .. eid .. ':' .. d end
-- Frees the task's unique key, when it still holds it: the task finished
-- (completed, dead-lettered, cancelled), so an enqueue with the key makes a new one.
local function freeUnique(rk, id)
  local r = redis.call('HMGET', rk, 'name', 'uniqueKey')
  if r[1] and r[2] then
    local uk = scoped('unique:', r[1], r[2])
    if redis.call('GET', uk) == id then redis.call('DEL', uk) end
  end
end
-- Gives back the concurrency permit delivery (b, eid, d) holds, if any: its
-- outcome came, or its lease was lost. A ZREM of its own token only, so a
-- later delivery's permit is never touched.
local function releasePermit(rk, b, eid, d)
  local r = redis.call('HMGET', rk, 'name', 'concurrencyKey')
  if r[1] and r[2] then redis.call('ZREM', scoped('concurrency:', r[1], r[2]), token(b, eid, d)) end
end
-- Takes a waiting or delivered-but-unstarted entry out of reach: no consumer
-- reads it (XDEL) and the one that read it and has not recorded its run yet
-- finds it gone (XACK: its 'run' op is then stale and the delivery dropped).
local function neutralise(b, eid)
  redis.call('XACK', KEYS[b], group, eid)
  redis.call('XDEL', KEYS[b], eid)
  redis.call('HDEL', KEYS[7], b .. ':' .. eid)
end
`;
