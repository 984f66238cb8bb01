/**
 * The child-process side of a measurement. The orchestrator forks one
 * process per subject (ours or a peer, per workload); the subject runs a
 * warm-up round (reported, never counted) and then `rounds` measured rounds,
 * and sends the figures back over IPC.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class Skip extends Error {
  constructor(reason) {
    super(reason);
    this.name = 'Skip';
  }
}

/** Reads the arguments, runs `main(args)`, reports, exits. */
export async function subjectMain(main) {
  const args = JSON.parse(process.argv[2] ?? '{}');
  let message;
  try {
    message = { ok: true, result: await main(args) };
  } catch (error) {
    message =
      error instanceof Skip
        ? { ok: false, skipped: error.message }
        : { ok: false, error: error?.stack ?? String(error) };
  }
  if (process.send) {
    await new Promise((resolve) => process.send(message, resolve));
  } else {
    console.log(JSON.stringify(message));
  }
  // Leftover handles (a pool that would not close, a socket) must not hold
  // the orchestrator up: the figures are already sent.
  process.exit(0);
}

/**
 * Runs `round(size, index)` once as a warm-up (size `warmupSize`) and then
 * `rounds` times (size `size`). `round` returns an object of figures.
 */
export async function measureRounds({ rounds, size, warmupSize = size, round, pauseMs = 200 }) {
  const warmup = await round(warmupSize, -1);
  const measured = [];
  for (let i = 0; i < rounds; i++) {
    if (pauseMs) await sleep(pauseMs);
    measured.push(await round(size, i));
  }
  return { warmup, rounds: measured };
}

/** CPU time of this whole process (every thread), in ms, since `from` (a `process.cpuUsage()`). */
export function cpuMsSince(from) {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}
