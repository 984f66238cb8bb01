import { ENQUEUE_CORE, TASK_VALUES } from './enqueue-core.lua.js';
import { PRELUDE, SCRIPT_KEYS } from './prelude.lua.js';

/**
 * Adds tasks (see enqueue-core.lua.ts): an existing id is left as it is (ids
 * are deduplication keys), and so is the task holding a unique key, unless
 * it waits and the enqueue says 'replace'. ARGV 4: task count, then
 * TASK_VALUES values per task. Returns each task's id: its own, or that of
 * the task already holding its id or unique key.
 */
export const ENQUEUE_SCRIPT = {
  name: 'enqueue',
  numberOfKeys: SCRIPT_KEYS,
  lua: `${PRELUDE}${ENQUEUE_CORE}
local out = {}
for i = 1, tonumber(ARGV[4]) do out[i] = enqueueAt(5 + (i - 1) * ${TASK_VALUES}) end
return out`,
} as const;
