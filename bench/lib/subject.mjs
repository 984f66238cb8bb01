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
 *
 * Interleaved (the orchestrator forked this process with
 * BENCH_INTERLEAVED=1, see harness/interleave.mjs): each round waits for the
 * orchestrator's go, so that its rounds alternate with another subject's.
 */
export async function measureRounds({ rounds, size, warmupSize = size, round, pauseMs = 200 }) {
  if (process.env.BENCH_INTERLEAVED === '1' && process.send)
    return interleavedRounds({ size, warmupSize, round, pauseMs });
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

/**
 * The child's side of interleaving: say 'idle', run the round the
 * orchestrator asks for ({ kind: 'round', index }, -1 being the warm-up),
 * say 'idle' again, until it says 'finish'.
 */
async function interleavedRounds({ size, warmupSize, round, pauseMs }) {
  const commands = [];
  let wake;
  const onMessage = (message) => {
    if (message?.kind !== 'round' && message?.kind !== 'finish') return;
    commands.push(message);
    wake?.();
  };
  process.on('message', onMessage);
  const next = async () => {
    while (commands.length === 0) await new Promise((resolve) => (wake = resolve));
    return commands.shift();
  };
  let warmup;
  const measured = [];
  try {
    for (;;) {
      process.send({ kind: 'idle' });
      const command = await next();
      if (command.kind === 'finish') break;
      if (command.index < 0) {
        warmup = await round(warmupSize, -1);
        continue;
      }
      if (pauseMs) await sleep(pauseMs);
      measured.push(await round(size, command.index));
    }
  } finally {
    process.off('message', onMessage);
  }
  return { warmup, rounds: measured, interleaved: true };
}
