/**
 * Raw piscina: one `pool.run(payload, { name })` per task, the same task
 * bodies, the same thread count, piscina's defaults otherwise. The floor our
 * layer adds to. Modes mirror our subjects: burst, open-loop, idle.
 */
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { setTimeout as sleep } from 'node:timers/promises';
import { burst, windowed, idleCpu, openLoop } from '../lib/drivers.mjs';
import { measureThreadMemory, readOwnMemory } from '../lib/memory.mjs';
import { fixture } from '../lib/paths.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';

/** What a thread loads besides the bodies (diagnostics): nothing, @nestjs/core, or a booted Nest context. */
const threadFiles = {
  bare: 'piscina.worker.js',
  'nest-core': 'piscina-nestcore.worker.js',
  'nest-context': 'piscina-nest.worker.js',
};

export function createPool(workers, extra = {}, file = 'piscina.worker.js') {
  return new Piscina({
    filename: fixture(file).href,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: Infinity,
    ...extra,
  });
}

/** Resolves once every thread is up (piscina starts them lazily otherwise). */
export async function warmThreads(pool, workers) {
  await Promise.all(Array.from({ length: workers * 4 }, () => pool.run(null, { name: 'noop' })));
}

// Run as a subject (forked by run.mjs), not when imported by the pg-boss / BullMQ peers.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  subjectMain(
    async ({
      task,
      payload = null,
      workers = 2,
      count,
      warmupCount,
      rounds,
      mode = 'burst',
      window = 1024,
      rate,
      durationMs,
      atomics,
      probe,
      thread = 'bare',
      trimHeap = false,
    }) => {
      if (!threadFiles[thread]) throw new Error(`unknown thread kind ${thread}`);
      if (mode === 'memory' && !probe)
        return measureThreadMemory(import.meta.url, { rounds, args: { mode, thread, trimHeap } });
      const extra = { ...(atomics ? { atomics } : {}), ...(trimHeap ? { workerData: { trimHeap } } : {}) };
      const pool = createPool(workers, extra, threadFiles[thread]);
      await warmThreads(pool, workers);
      const submit = (p) => pool.run(p, { name: task });
      try {
        if (probe) {
          await Promise.all(Array.from({ length: 2000 }, () => pool.run(null, { name: 'noop' })));
          await sleep(1000);
          return { ...readOwnMemory(), heap: await pool.run(null, { name: 'heapProbe' }) };
        }
        if (mode === 'open-loop') {
          return await measureRounds({
            rounds,
            size: durationMs,
            warmupSize: Math.min(durationMs, 2000),
            round: (ms) => openLoop(submit, { rate, durationMs: ms, payload }),
          });
        }
        if (mode === 'idle') {
          return await measureRounds({
            rounds,
            size: durationMs,
            warmupSize: 1000,
            pauseMs: 0,
            round: (ms) => idleCpu(ms),
          });
        }
        if (mode === 'window') {
          return await measureRounds({
            rounds,
            size: count,
            warmupSize: warmupCount ?? count,
            round: (n) => windowed(submit, n, payload, window),
          });
        }
        return await measureRounds({
          rounds,
          size: count,
          warmupSize: warmupCount ?? count,
          round: (n) => burst(submit, n, payload),
        });
      } finally {
        await pool.destroy();
      }
    },
  );
}
