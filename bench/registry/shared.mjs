/**
 * Subjects that other subjects' arguments are computed from. They run before
 * everything else (see harness/plan.mjs) and have no row of their own.
 */

/**
 * Every CPU-bound subject gets the same `burn()` iteration count, derived
 * from one calibration per run, so "~5 ms" means the same work for ours and
 * the peers even when the machine's speed drifts between runs.
 */
export const subjects = {
  calibrate: {
    label: 'calibration: burn() iterations per ms',
    program: 'lib/calibrate.mjs',
    rounds: false,
    args: {},
    summary: (result) =>
      `calibration: per ms, ${result.iterationsPerMs} burn() iterations` +
      Object.entries(result.allocPerMs ?? {})
        .map(([body, n]) => `, ${n} ${body}() rounds`)
        .join(''),
  },
};

/** `burn()` iterations for about `ms` of CPU; subjects calling it declare `after: ['calibrate']`. */
export function iterations(ctx, ms) {
  const perMs = ctx.result('calibrate')?.iterationsPerMs;
  if (!perMs) throw new Error('no calibration');
  return Math.round(perMs * ms);
}

/** Rounds of allocation-heavy body `body` (bench/fixtures/alloc.bodies.ts) for about `ms`. */
export function allocRounds(ctx, body, ms) {
  const perMs = ctx.result('calibrate')?.allocPerMs?.[body];
  if (!perMs) throw new Error(`no calibration for ${body}()`);
  return Math.max(1, Math.round(perMs * ms));
}
