/**
 * Ours: extra RSS per worker thread, its Nest context included. Each probe is
 * a fresh process that boots the app with `workers` threads, runs a burst of
 * no-op tasks so every thread has booted, run and settled, and reads its own
 * RSS / PSS.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { bootApp } from '../lib/app.mjs';
import { measureThreadMemory, readOwnMemory } from '../lib/memory.mjs';
import { subjectMain } from '../lib/subject.mjs';

subjectMain(async ({ probe, workers, rounds, resourceLimits }) => {
  if (!probe) return measureThreadMemory(import.meta.url, { rounds, args: { resourceLimits } });
  const { app, wm } = await bootApp({
    workers,
    loop: { autoStart: false },
    ...(resourceLimits ? { resourceLimits } : {}),
  });
  await Promise.all(Array.from({ length: 2000 }, () => wm.run('noop')));
  await sleep(1000);
  const memory = { ...readOwnMemory(), heap: await wm.run('heapProbe') };
  await app.close();
  return memory;
});
