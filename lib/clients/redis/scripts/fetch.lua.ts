import { PRELUDE, SCRIPT_KEYS } from './prelude.lua.js';

/**
 * One fetch round trip: promote due delayed tasks into their streams, take
 * over entries idle for a lease (XAUTOCLAIM: their consumer died or
 * stalled), and the unstarted ones of a consumer silent for part of it,
 * then read new entries, high band first, never more than asked.
 * ARGV 4: max, 5: most promotions, 6: '1' to claim, 7: lease ms, 8-10: claim
 * cursors, 11: silence (and idle) ms after which an unstarted delivery is taken over.
 * Returns {next due time or '', {cursors}, {{band, entry id, deliveries, fields}...}, server time}.
 */
export const FETCH_SCRIPT = {
  name: 'fetch',
  numberOfKeys: SCRIPT_KEYS,
  lua: `${PRELUDE}
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
    -- Ids of entries deleted while pending, dropped from the group by the claim.
    for _, gone in ipairs(res[3] or {}) do redis.call('HDEL', KEYS[7], b .. ':' .. gone) end
    for _, e in ipairs(res[2]) do
      if type(e[2]) == 'table' then
        -- The claim bumped the delivery count; the fence of every later outcome is that count.
        local p = redis.call('XPENDING', KEYS[b], group, e[1], e[1], 1)
        out[#out + 1] = {b, e[1], p[1] and p[1][4] or 1, e[2]}
        want = want - 1
      end
    end
  end
  -- A delivery that never reached a worker thread (no started note for its
  -- delivery count), held by a consumer that extends its leases (as the
  -- worker loop does, every leaseMs / 3) and has extended none for part of
  -- a lease: that consumer died or is stalled, and nothing of the delivery
  -- ran, so it is taken over without waiting out the lease. A consumer that
  -- never extended keeps its deliveries for the whole lease, and a stalled
  -- one does not take its own back.
  local early = tonumber(ARGV[11])
  local silent = {}
  local function isSilent(owner)
    if silent[owner] == nil then
      local seen = tonumber(redis.call('HGET', KEYS[8], owner))
      silent[owner] = seen ~= nil and now - seen >= early
    end
    return silent[owner]
  end
  for b = 1, 3 do
    if want <= 0 or early >= tonumber(ARGV[7]) then break end
    for _, p in ipairs(redis.call('XPENDING', KEYS[b], group, 'IDLE', early, '-', '+', want + 100)) do
      if want <= 0 then break end
      if p[2] ~= consumer and isSilent(p[2]) and redis.call('HGET', KEYS[7], b .. ':' .. p[1]) ~= tostring(p[4]) then
        local c = redis.call('XCLAIM', KEYS[b], group, consumer, early, p[1])
        if c[1] and type(c[1][2]) == 'table' then
          out[#out + 1] = {b, p[1], p[4] + 1, c[1][2]}
          want = want - 1
        end
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
return {nd[2] or '', cursors, out, nowS}`,
} as const;
