/**
 * How many iterations of each CPU-bound body make one millisecond on this
 * machine: the median of repeated timed runs after a warm-up, in a fresh
 * process. Every subject then gets the same iteration count, so "~2 ms"
 * means the same work for ours and the peers even when the machine's speed
 * drifts between runs.
 *
 * The allocation-heavy bodies are timed in samples of ~10 ms, long enough to
 * include their share of garbage collection, in this process's main thread
 * (a fresh heap, like a bare worker thread's).
 */
import { fixture } from './paths.mjs';
import { median } from './stats.mjs';
import { subjectMain } from './subject.mjs';

function perMs(body, probe, samples) {
  for (let i = 0; i < 10; i++) body(probe);
  const rates = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    body(probe);
    rates.push(probe / (performance.now() - t0));
  }
  return median(rates);
}

subjectMain(async () => {
  const { burn } = await import(fixture('bodies.js').href);
  const alloc = await import(fixture('alloc.bodies.js').href);
  const allocPerMs = {};
  for (const name of ['hash', 'buffers', 'json']) {
    const rough = perMs(alloc[name], 100, 5);
    allocPerMs[name] = Math.round(perMs(alloc[name], Math.max(1, Math.round(rough * 10)), 31));
  }
  return { iterationsPerMs: Math.round(perMs(burn, 2_000_000, 31)), allocPerMs };
});
