/**
 * Ours: `WorkerManager.run()` — a burst of calls (throughput), or an open
 * loop at a fixed arrival rate (latency). Task and payload come from the
 * orchestrator, so the no-op, CPU-bound and latency workloads share this file.
 */
import { bootApp } from '../lib/app.mjs';
import { burst, windowed, openLoop } from '../lib/drivers.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';

subjectMain(
  async ({
    task,
    payload = null,
    workers = 2,
    batching,
    count,
    warmupCount,
    rounds,
    mode = 'burst',
    window = 1024,
    rate,
    durationMs,
  }) => {
    const { app, wm } = await bootApp({ workers, loop: { autoStart: false }, ...(batching ? { batching } : {}) });
    const submit = (p) => wm.run(task, p);
    try {
      if (mode === 'open-loop') {
        return await measureRounds({
          rounds,
          size: durationMs,
          warmupSize: Math.min(durationMs, 2000),
          round: (ms) => openLoop(submit, { rate, durationMs: ms, payload }),
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
      await app.close();
    }
  },
);
