/**
 * Ours: the worker loop over the in-memory TaskClient. `count` tasks are
 * enqueued while the loop is paused (not timed), then the loop is resumed and
 * timed until the client has received every outcome through `publish()` —
 * the loop records each result in the client, as the peers record theirs.
 */
import { InMemoryTaskClient } from 'nestjs-worker';
import { bootApp } from '../lib/app.mjs';
import { measureRounds, subjectMain } from '../lib/subject.mjs';

/** The stock in-memory client, counting what is published to it. */
class CountingClient extends InMemoryTaskClient {
  published = 0;
  completed = 0;
  target = Infinity;
  onTarget = () => undefined;

  async publish(outcomes) {
    await super.publish(outcomes);
    this.published += outcomes.length;
    for (const o of outcomes) if (o.status === 'completed') this.completed++;
    // Final outcomes only: a delivery given back to wait for a permit is published too.
    if (this.completed >= this.target) this.onTarget();
  }
}

subjectMain(
  async ({ task, payloads = 'null', count, warmupCount, rounds, workers = 2, keys, tasksModule, uniqueKeys }) => {
    const client = new CountingClient();
    const { app, wm } = await bootApp({
      workers,
      tasksModule,
      client: { useValue: client },
      loop: { autoStart: false },
    });
    let started = false;
    const makePayload = payloads === 'seed' ? (i) => `task # ${i + 1}` : () => null;
    try {
      return await measureRounds({
        rounds,
        size: count,
        warmupSize: warmupCount ?? count,
        round: async (n) => {
          if (!started) {
            wm.start();
            started = true;
          }
          wm.pause();
          const tasks = new Array(n);
          for (let i = 0; i < n; i++) {
            tasks[i] = { name: task, payload: makePayload(i) };
            // Round-robin over `keys` concurrency keys (the permit gate's workload).
            if (keys) tasks[i].concurrencyKey = `k${i % keys}`;
            // A key of its own per task (the job-control workload): every enqueue checks and claims one.
            if (uniqueKeys) tasks[i].uniqueKey = `u${i}`;
          }
          client.enqueueMany(tasks);
          client.published = 0;
          client.completed = 0;
          const done = new Promise((resolve) => {
            client.target = n;
            client.onTarget = resolve;
          });
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          wm.resume();
          await done;
          const ms = performance.now() - t0;
          const cpu = process.cpuUsage(cpu0);
          if (client.completed !== n) throw new Error(`only ${client.completed} of ${n} tasks completed`);
          return { perSec: (n * 1000) / ms, ms, count: n, cpuMsPerTask: (cpu.user + cpu.system) / 1000 / n };
        },
      });
    } finally {
      await app.close();
    }
  },
);
