/**
 * Ours: `WorkerManager.map('square', items)` over a plain array of numbers
 * (the same list Python's Pool.map gets), default chunking. Timed from the
 * call to the resolved, ordered result array.
 */
import { bootApp } from '../lib/app.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';

subjectMain(async ({ count, warmupCount, rounds, workers = 2, chunkSize }) => {
  const { app, wm } = await bootApp({ workers, loop: { autoStart: false } });
  try {
    return await measureRounds({
      rounds,
      size: count,
      warmupSize: warmupCount ?? count,
      round: async (n) => {
        const items = Array.from({ length: n }, (_, i) => i);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const out = await wm.map('square', items, chunkSize ? { chunkSize } : {});
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        if (out.length !== n || out[n - 1] !== (n - 1) * (n - 1)) throw new Error('map() returned wrong results');
        return { perSec: (n * 1000) / ms, ms, count: n, cpuMsPerItem: (cpu.user + cpu.system) / 1000 / n };
      },
    });
  } finally {
    await app.close();
  }
});
