import { SCRIPT_KEYS } from './prelude.lua.js';

/** ARGV 1: group. Returns {queued, delayed, running, completed, failed, cancelled}, O(1) per key. */
export const COUNTS_SCRIPT = {
  name: 'counts',
  numberOfKeys: SCRIPT_KEYS,
  lua: `
local queued, running = 0, 0
for b = 1, 3 do
  queued = queued + redis.call('XLEN', KEYS[b])
  local p = redis.pcall('XPENDING', KEYS[b], ARGV[1])
  if type(p) == 'table' and not p.err then running = running + p[1] end
end
local stats = redis.call('HMGET', KEYS[6], 'completed', 'failed', 'cancelled')
return {queued - running, redis.call('ZCARD', KEYS[4]), running, tonumber(stats[1]) or 0, tonumber(stats[2]) or 0,
  tonumber(stats[3]) or 0}`,
} as const;
