import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/*
 * The Lua side of RedisTaskClient. Every state change of a task is one
 * script, so it is atomic against every other consumer and producer: a task
 * is never both in the delayed set and in a stream, a record never says
 * `completed` for an entry another consumer still holds.
 *
 * KEYS of every script (see RedisKeys.scriptKeys): 1-3 the high, normal and
 * low streams, 4 the delayed set, 5 the dead-letter stream, 6 the counters.
 * ARGV 1-3: consumer group, this consumer's name, record key prefix.
 *
 * Times come from the server's clock (TIME), never from the caller's: delays,
 * leases and record timestamps stay consistent across machines whose clocks
 * disagree.
 */
const PRELUDE = `
local group, consumer, rp = ARGV[1], ARGV[2], ARGV[3]
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
local function addEntry(b, id, name, payload, attempt, maxAttempts, enqueuedAt)
  local f = {'id', id, 'name', name, 'payload', payload, 'attempt', attempt, 'enqueuedAt', enqueuedAt}
  if maxAttempts and maxAttempts ~= '' then f[#f + 1] = 'maxAttempts'; f[#f + 1] = maxAttempts end
  return redis.call('XADD', KEYS[b], '*', unpack(f))
end
-- Puts a task back at the end of stream b with the given attempt, from its
-- record, or from its current entry when a foreign producer's task has none.
local function requeue(rk, id, b, attempt, key, eid)
  local r = redis.call('HMGET', rk, 'name', 'payload', 'maxAttempts', 'enqueuedAt')
  if r[1] then
    addEntry(b, id, r[1], r[2] or 'null', attempt, r[3], r[4] or nowS)
  elseif key then
    local f = entryFields(key, eid)
    if #f == 0 then return false end
    for i = 1, #f - 1, 2 do if f[i] == 'attempt' then f[i + 1] = attempt end end
    if not field(f, 'attempt') then f[#f + 1] = 'attempt'; f[#f + 1] = attempt end
    redis.call('XADD', KEYS[b], '*', unpack(f))
  else
    return false
  end
  redis.call('HSET', rk, 'state', 'queued', 'attempt', attempt, 'runAt', nowS)
  return true
end
`;

/** ARGV 4: task count, then per task: id, name, payload (JSON), maxAttempts ('' for none), priority, delayMs. Returns 1 per added task, 0 per id that exists already. */
const ENQUEUE = `${PRELUDE}
local out, a = {}, 5
for i = 1, tonumber(ARGV[4]) do
  local id, name, payload, maxA, prio, delay = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], tonumber(ARGV[a + 5])
  a = a + 6
  local rk = rp .. id
  if redis.call('EXISTS', rk) == 1 then
    out[i] = 0
  else
    local runAt = now + delay
    redis.call('HSET', rk, 'name', name, 'payload', payload, 'attempt', 1, 'priority', prio, 'enqueuedAt', nowS,
      'runAt', fmt(runAt), 'state', delay > 0 and 'delayed' or 'queued')
    if maxA ~= '' then redis.call('HSET', rk, 'maxAttempts', maxA) end
    if delay > 0 then redis.call('ZADD', KEYS[4], runAt, id) else addEntry(band(prio), id, name, payload, 1, maxA, nowS) end
    out[i] = 1
  end
end
return out`;

/**
 * One fetch round trip: promote due delayed tasks into their streams, take
 * over entries idle for a lease (XAUTOCLAIM: their consumer died or
 * stalled), then read new entries, high band first, never more than asked.
 * ARGV 4: max, 5: most promotions, 6: '1' to claim, 7: lease ms, 8-10: claim cursors.
 * Returns {next due time or '', {cursors}, {{band, entry id, deliveries, fields}...}, server time}.
 */
const FETCH = `${PRELUDE}
local want = tonumber(ARGV[4])
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(due) do
  local rk = rp .. id
  local r = redis.call('HMGET', rk, 'state', 'attempt', 'priority')
  if r[1] == 'delayed' then requeue(rk, id, band(r[3]), r[2] or '1') end
  redis.call('ZREM', KEYS[4], id)
end
local out, cursors = {}, {ARGV[8], ARGV[9], ARGV[10]}
if ARGV[6] == '1' then
  for b = 1, 3 do
    if want <= 0 then break end
    local res = redis.call('XAUTOCLAIM', KEYS[b], group, consumer, ARGV[7], cursors[b], 'COUNT', want)
    cursors[b] = res[1]
    for _, e in ipairs(res[2]) do
      if type(e[2]) == 'table' then
        -- The claim bumped the delivery count; the fence of every later outcome is that count.
        local p = redis.call('XPENDING', KEYS[b], group, e[1], e[1], 1)
        out[#out + 1] = {b, e[1], p[1] and p[1][4] or 1, e[2]}
        want = want - 1
      end
    end
  end
end
for b = 1, 3 do
  if want <= 0 then break end
  local res = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want, 'STREAMS', KEYS[b], '>')
  if res then
    for _, e in ipairs(res[1][2]) do out[#out + 1] = {b, e[1], 1, e[2]}; want = want - 1 end
  end
end
local nd = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
return {nd[2] or '', cursors, out, nowS}`;

/**
 * Applies a batch of operations on delivered entries. Each is fenced: it only
 * applies while this consumer still holds the entry with the delivery count
 * it was given (XPENDING). A consumer that lost an entry to XAUTOCLAIM, even
 * one that claimed it back later, cannot overwrite the newer delivery's work.
 * ARGV 4: keepCompletedMs, 5: keepFailedMs, 6: op count, then per op:
 * op, band, entry id, deliveries, task id, attempt, x, y, z. Returns 1 per applied op, 0 per stale one.
 *   run       x: error of the previous attempt when its lease ran out ('' for none)
 *   completed x: result JSON, y: '1' when there is a result
 *   failed    x: reason, y: error JSON
 *   retry     x: next attempt, y: delay ms, z: error JSON
 *   released, extend
 */
const APPLY = `${PRELUDE}
local keepDone, keepFailed = tonumber(ARGV[4]), tonumber(ARGV[5])
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
local out, a = {}, 7
for i = 1, tonumber(ARGV[6]) do
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
      if redis.call('HEXISTS', rk, 'name') == 0 then
        local f = entryFields(key, eid)
        redis.call('HSET', rk, 'name', field(f, 'name') or '', 'payload', field(f, 'payload') or 'null',
          'priority', ({'1', '0', '-1'})[b], 'enqueuedAt', field(f, 'enqueuedAt') or string.match(eid, '^%d+'), 'runAt', nowS)
        if field(f, 'maxAttempts') then redis.call('HSET', rk, 'maxAttempts', field(f, 'maxAttempts')) end
      end
      redis.call('HSET', rk, 'state', 'running', 'attempt', attempt, 'startedAt', nowS)
      if x ~= '' then redis.call('HSET', rk, 'err:' .. (tonumber(attempt) - 1), x) end
    elseif op == 'completed' then
      redis.call('HSET', rk, 'state', 'completed', 'attempt', attempt, 'finishedAt', nowS)
      if y == '1' then redis.call('HSET', rk, 'result', x) else redis.call('HDEL', rk, 'result') end
      redis.call('PEXPIRE', rk, keepDone)
      remove(key, eid)
      redis.call('HINCRBY', KEYS[6], 'completed', 1)
    elseif op == 'failed' then
      local f = entryFields(key, eid)
      redis.call('HSET', rk, 'state', 'failed', 'attempt', attempt, 'failureReason', x, 'finishedAt', nowS, 'err:' .. attempt, y)
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
      for _, v in ipairs({'id', id, 'attempt', attempt, 'reason', x, 'error', y, 'errors', '[' .. table.concat(list, ',') .. ']',
        'failedAt', nowS, 'entry', eid, 'stream', key}) do dead[#dead + 1] = v end
      -- Trimmed by age: dead letters live as long as failed records (keepFailedMs).
      redis.call('XADD', KEYS[5], 'MINID', '~', fmt(now - keepFailed), '*', unpack(dead))
      redis.call('PEXPIRE', rk, keepFailed)
      remove(key, eid)
      redis.call('HINCRBY', KEYS[6], 'failed', 1)
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
return out`;

/**
 * Forgets consumers of dead processes (a new name per process start would
 * otherwise pile up in the group). Only those holding nothing, idle for
 * ARGV 4 ms: in one script, so none can be handed an entry in between.
 */
const FORGET_CONSUMERS = `${PRELUDE}
local removed = 0
for b = 1, 3 do
  local list = redis.pcall('XINFO', 'CONSUMERS', KEYS[b], group)
  if type(list) == 'table' and not list.err then
    for _, c in ipairs(list) do
      local name = field(c, 'name')
      if name ~= consumer and field(c, 'pending') == 0 and field(c, 'idle') > tonumber(ARGV[4]) then
        redis.call('XGROUP', 'DELCONSUMER', KEYS[b], group, name)
        removed = removed + 1
      end
    end
  end
end
return removed`;

/** ARGV 1: group. Returns {queued, delayed, running, completed, failed}. */
const COUNTS = `
local queued, running = 0, 0
for b = 1, 3 do
  queued = queued + redis.call('XLEN', KEYS[b])
  local p = redis.pcall('XPENDING', KEYS[b], ARGV[1])
  if type(p) == 'table' and not p.err then running = running + p[1] end
end
local stats = redis.call('HMGET', KEYS[6], 'completed', 'failed')
return {queued - running, redis.call('ZCARD', KEYS[4]), running, tonumber(stats[1]) or 0, tonumber(stats[2]) or 0}`;

export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

export const Scripts = {
  enqueue: new LuaScript(ENQUEUE),
  fetch: new LuaScript(FETCH),
  apply: new LuaScript(APPLY),
  counts: new LuaScript(COUNTS),
  forgetConsumers: new LuaScript(FORGET_CONSUMERS),
} as const;

const isNoScript = (error: unknown) => /NOSCRIPT/.test((error as Error)?.message ?? '');

/** EVALSHA, falling back to EVAL when the server lost its script cache (a restart). */
export async function runScript(
  conn: Redis,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await conn.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return conn.eval(script.source, keys.length, ...keys, ...args);
  }
}

/** Several calls of one script in one pipeline (one round trip); results in order. Rejects with the first error. */
export async function runScriptMany(
  conn: Redis,
  script: LuaScript,
  keys: readonly string[],
  calls: ReadonlyArray<readonly (string | number)[]>,
): Promise<unknown[]> {
  if (calls.length === 0) return [];
  if (calls.length === 1) return [await runScript(conn, script, keys, calls[0]!)];
  const send = async (batch: ReadonlyArray<readonly (string | number)[]>, load: boolean) => {
    const pipeline = conn.pipeline();
    if (load) pipeline.script('LOAD', script.source);
    for (const args of batch) pipeline.evalsha(script.sha, keys.length, ...keys, ...args);
    const replies = (await pipeline.exec()) ?? [];
    return load ? replies.slice(1) : replies;
  };
  const replies = await send(calls, false);
  // A NOSCRIPT call did not run: run those again (only those: another client
  // may have loaded the script halfway through, and the others did run).
  const missing = replies.flatMap(([error], i) => (isNoScript(error) ? [i] : []));
  if (missing.length > 0) {
    const again = await send(
      missing.map((i) => calls[i]!),
      true,
    );
    missing.forEach((i, k) => (replies[i] = again[k]!));
  }
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
