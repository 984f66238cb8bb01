import { PRELUDE, SCRIPT_KEYS } from './prelude.lua.js';

/** Values per request of ACQUIRE_PERMITS. */
export const PERMIT_VALUES = 8;

/**
 * Rate limits and concurrency permits for a batch of deliveries, in one
 * script: each request is granted as a whole or not at all, in order, on the
 * server's clock, so processes racing for the last permit never both get it.
 *
 * - Concurrency, per task name and key: a sorted set of the holders
 *   (`<base>concurrency:<name length>:<name>:<key>`, member the delivery's
 *   token `<band>:<entry id>:<deliveries>`, score when its lease runs out).
 *   Holders past their score are purged, then the rest counted. APPLY keeps
 *   a holder's score with its lease extension and removes it with its
 *   outcome, or with a takeover when its lease was lost.
 * - Rate, per task name: a sliding-window log (`<base>rate:<name>`, a start
 *   per member scored by when it was granted); entries older than the
 *   interval are dropped, the rest counted. Denied: wait until the oldest
 *   leaves the window.
 *
 * A delivery this consumer no longer holds (lost, or its task cancelled) is
 * never granted. ARGV 4: lease ms, 5: wait after a concurrency denial, 6:
 * request count, then PERMIT_VALUES per request: band, entry id, deliveries,
 * name, concurrency key, per-key limit ('' for none), rate max ('' for none),
 * rate interval ms. Returns three values per request: 1, 0, 0 when granted;
 * 0, the ms to wait, and why (1 rate, 2 concurrency, 3 not held) when denied.
 */
export const ACQUIRE_PERMITS_SCRIPT = {
  name: 'acquirePermits',
  numberOfKeys: SCRIPT_KEYS,
  lua: `${PRELUDE}
local lease, busyWait = tonumber(ARGV[4]), tonumber(ARGV[5])
local out, a = {}, 7
for _ = 1, tonumber(ARGV[6]) do
  local b, eid, d, name, ckey, limit, rmax, interval = tonumber(ARGV[a]), ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3],
    ARGV[a + 4], tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6]), tonumber(ARGV[a + 7])
  a = a + ${PERMIT_VALUES}
  local tok = token(b, eid, d)
  local wait, why, ck, rl
  local p = redis.pcall('XPENDING', KEYS[b], group, eid, eid, 1)
  if type(p) ~= 'table' or p.err or not p[1] or p[1][2] ~= consumer or p[1][4] ~= d then
    wait, why = busyWait, 3
  end
  if not wait and limit and ckey ~= '' then
    ck = scoped('concurrency:', name, ckey)
    redis.call('ZREMRANGEBYSCORE', ck, '-inf', now)
    if not redis.call('ZSCORE', ck, tok) and redis.call('ZCARD', ck) >= limit then wait, why = busyWait, 2 end
  end
  if not wait and rmax then
    rl = base .. 'rate:' .. name
    redis.call('ZREMRANGEBYSCORE', rl, '-inf', now - interval)
    if not redis.call('ZSCORE', rl, tok) and redis.call('ZCARD', rl) >= rmax then
      local oldest = redis.call('ZRANGE', rl, 0, 0, 'WITHSCORES')
      wait, why = math.max(1, tonumber(oldest[2]) + interval - now), 1
    end
  end
  if wait then
    out[#out + 1] = 0; out[#out + 1] = wait; out[#out + 1] = why
  else
    if ck then
      redis.call('ZADD', ck, now + lease, tok)
      redis.call('PEXPIRE', ck, 3 * lease)
    end
    if rl then
      redis.call('ZADD', rl, now, tok)
      redis.call('PEXPIRE', rl, interval)
    end
    out[#out + 1] = 1; out[#out + 1] = 0; out[#out + 1] = 0
  end
end
return out`,
} as const;
