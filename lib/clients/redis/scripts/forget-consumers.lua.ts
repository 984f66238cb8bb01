import { PRELUDE, SCRIPT_KEYS } from './prelude.lua.js';

/**
 * Forgets consumers of dead processes (a new name per process start would
 * otherwise pile up in the group). Only those holding nothing, idle for
 * ARGV 4 ms: in one script, so none can be handed an entry in between.
 */
export const FORGET_CONSUMERS_SCRIPT = {
  name: 'forgetConsumers',
  numberOfKeys: SCRIPT_KEYS,
  lua: `${PRELUDE}
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
-- Heartbeats of consumers silent that long: nothing of theirs is early-claimable any more anyway.
local beats = redis.call('HGETALL', KEYS[8])
for i = 1, #beats - 1, 2 do
  if now - (tonumber(beats[i + 1]) or 0) > tonumber(ARGV[4]) then redis.call('HDEL', KEYS[8], beats[i]) end
end
return removed`,
} as const;
