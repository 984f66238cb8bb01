/**
 * The vocabulary of the registry: what a subject measures (its metric) and
 * what a row expects of a ratio (its target). The workload files in this
 * folder declare subjects and rows with these; bench/harness evaluates them.
 *
 * A subject is one program (bench/ours/*.mjs, bench/peers/*.mjs, bench/lib/calibrate.mjs)
 * run in a fresh child process with JSON arguments:
 *
 *   'ours.run': {
 *     label: 'ours: run() no-op, burst',      what the per-subject table calls it
 *     program: 'ours/run.mjs',                relative to bench/
 *     ours: true,                             profiled by --profile
 *     metric: throughput('tasks/s'),          the figure of its rounds that rows compare
 *     server: 'postgres',                     optional: a server the run must start ('postgres' | 'redis')
 *     after: ['calibrate'],                   optional: subjects whose results its args read
 *     rounds: false,                          optional: the program takes no `rounds` argument
 *     interleave: 'piscina.run',              optional: measured round by round in turn with that
 *                                             subject (see harness/interleave.mjs)
 *     summary: (result) => '...',             optional: a line printed under the tables
 *     args: (ctx) => ({ ... }),               or a plain object; ctx is below
 *   }
 *
 * ctx: { quick, size(full, quick), servers: { postgres, redis } (URLs), result(id), median(id, key) }.
 *
 * A row compares one subject ("ours") with another ("peer") on their metrics:
 *
 *   { label, ours: 'ours.run', peer: 'piscina.run', peerLabel: 'raw piscina run()', target: atLeast(0.9) }
 *
 * A workload may also declare `details: [{ title, needs: [ids], table(view) }]`:
 * extra tables built from the measurements (view: median(id, key), result(id))
 * of the subjects it `needs`, which run even when no row names them.
 *
 * Optional: `metric` compares another figure of both subjects' rounds than
 * their own metrics (p50 instead of p99, server CPU per task instead of
 * jobs/s); `note(oursMeasurement)` is kept with the row in results.json;
 * `ratio(ours, peer)` replaces ours / peer. A row with no target is context;
 * a row with no peer shows our figure alone, and an `absolute` target judges
 * that figure instead of a ratio.
 */

/** Figures the programs report per round (`key`); `unit` picks the formatting (see harness/format.mjs). */
export const figure = (key, unit) => ({ key, unit });
export const throughput = (unit) => ({ key: 'perSec', unit });
export const latency = (key = 'p99') => ({ key, unit: 'ms' });
export const memory = (key) => ({ key, unit: 'bytes' });
export const cpuShare = () => ({ key: 'cpuPct', unit: '% core' });

/** Targets on the ratio ours / peer. */
export const atLeast = (value) => ({ op: '>=', value });
export const atMost = (value) => ({ op: '<=', value });
export const below = (value) => ({ op: '<', value });
/** A target on our own figure, in the metric's unit: idle CPU has no peer to be a ratio of. */
export const absoluteBelow = (value) => ({ op: '<', value, absolute: true });
