/**
 * Ours, idle: the app with its worker loop running over an empty source —
 * the in-memory client, or (context rows) a PostgreSQL / Redis client on an
 * empty queue. After a settling period (the loop's idle backoff grows to its
 * maximum; not counted), CPU of the whole process — main thread, worker
 * threads, everything — is read with process.cpuUsage() over the window.
 * The database server's own CPU is not included.
 */
import { InMemoryTaskClient } from 'nestjs-worker';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootApp } from '../lib/app.mjs';
import { createDurableClient } from '../lib/clients.mjs';
import { idleCpu } from '../lib/drivers.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';

subjectMain(async ({ durationMs, rounds, settleMs = 3000, workers = 2, backend, url }) => {
  const client = backend
    ? await createDurableClient(backend, url, `bench_idle_${process.pid}`)
    : new InMemoryTaskClient();
  const { app, wm } = await bootApp({ workers, client: { useValue: client } });
  try {
    // Prove the loop is live before going idle: one task, run to completion.
    await client.enqueueMany([{ name: 'noop', payload: null }]);
    for (let i = 0; i < 200 && (await client.counts()).completed < 1; i++) await sleep(50);
    if ((await client.counts()).completed < 1) throw new Error('the loop did not run the probe task');
    await sleep(settleMs);
    const result = await measureRounds({
      rounds,
      size: durationMs,
      warmupSize: 1000,
      pauseMs: 0,
      round: (ms) => idleCpu(ms),
    });
    result.loopState = wm.stats().loop;
    return result;
  } finally {
    await app.close();
  }
});
