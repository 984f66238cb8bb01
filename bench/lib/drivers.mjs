/**
 * Load drivers shared by our subjects and the raw piscina peer, so that both
 * are driven by the very same code and only `submit` differs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { percentileSorted } from './stats.mjs';

/**
 * Closed burst: `count` calls issued at once (as many concurrent callers),
 * timed until the last settles. Returns tasks per second.
 */
export async function burst(submit, count, payload) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const pending = new Array(count);
  for (let i = 0; i < count; i++) pending[i] = submit(payload);
  await Promise.all(pending);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { perSec: (count * 1000) / ms, ms, count, cpuMsPerTask: (cpu.user + cpu.system) / 1000 / count };
}

/**
 * Closed loop with a window: `count` calls, never more than `window` in
 * flight (a producer that respects backpressure). Returns tasks per second.
 */
export async function windowed(submit, count, payload, window = 1024) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let issued = 0;
  await new Promise((resolve, reject) => {
    let settled = 0;
    const next = () => {
      if (++settled === count) return resolve();
      if (issued < count) {
        issued++;
        submit(payload).then(next, reject);
      }
    };
    for (; issued < Math.min(window, count);) {
      issued++;
      submit(payload).then(next, reject);
    }
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { perSec: (count * 1000) / ms, ms, count, window, cpuMsPerTask: (cpu.user + cpu.system) / 1000 / count };
}

/**
 * Open loop: call i is due at t0 + i / rate whatever happened before (no
 * coordinated omission); its latency is counted from when it was due, not
 * from when the timer fired. Returns percentiles in ms.
 */
export async function openLoop(submit, { rate, durationMs, payload }) {
  const count = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const latencies = new Float64Array(count);
  let issued = 0;
  let settled = 0;
  let maxBacklog = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const t0 = performance.now() + 5;
  const issue = (i, due) => {
    submit(payload).then(
      () => {
        latencies[i] = performance.now() - due;
        if (++settled === count) done();
      },
      (error) => {
        latencies[i] = NaN;
        console.error('call failed', error);
        if (++settled === count) done();
      },
    );
  };
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (issued < count) {
        const due = t0 + issued * interval;
        if (due > now) break;
        issue(issued, due);
        issued++;
      }
      maxBacklog = Math.max(maxBacklog, issued - settled);
      if (issued === count) return resolve();
      // Timers fire late by up to ~1 ms; that lateness lands in the latency
      // (counted from the due time), the same for every subject.
      setTimeout(tick, Math.max(0, t0 + issued * interval - performance.now()));
    };
    setTimeout(tick, 5);
  });
  await finished;
  const sorted = Float64Array.from(latencies).sort();
  return {
    rate,
    count,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    p999: percentileSorted(sorted, 99.9),
    max: sorted[sorted.length - 1],
    maxBacklog,
  };
}

/** CPU used by this whole process (all threads) over `windowMs`, as % of one core. */
export async function idleCpu(windowMs) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(windowMs);
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  return { cpuPct: ((cpu.user + cpu.system) / 1000 / ms) * 100, windowMs: ms };
}
