/**
 * A row of the results table from the registry's declaration and the
 * measurements: the medians over the measured rounds of both subjects, their
 * ratio, and whether the target is met. Targets are on ratios measured in
 * the same run, never on absolute timings (idle CPU excepted): a figure from
 * one machine says nothing about another, a ratio says something about the code.
 */
import { median } from '../lib/stats.mjs';

export const roundsOf = (measurement) => measurement?.result?.rounds ?? [];
export const medianOf = (measurement, key) => median(roundsOf(measurement).map((round) => round[key]));

const divide = (a, b) => (a !== undefined && b !== undefined && b !== 0 ? a / b : undefined);

function unavailable(results, ids) {
  for (const id of ids) {
    const m = results[id];
    if (!m) return 'not run';
    if (m.skipped) return `skipped: ${m.skipped}`;
    if (m.error) return `error in ${id}`;
  }
  return undefined;
}

export function judge(value, target) {
  if (!target || value === undefined) return undefined;
  switch (target.op) {
    case '>=':
      return value >= target.value;
    case '>':
      return value > target.value;
    case '<=':
      return value <= target.value;
    case '<':
      return value < target.value;
    default:
      throw new Error(`unknown target operator ${target.op}`);
  }
}

/** The shape kept in results.json under `rows` (`workload` is the row's label). */
export function evaluateRow(workload, row, subjects, results) {
  const ids = row.peer ? [row.ours, row.peer] : [row.ours];
  const why = unavailable(results, ids);
  const metric = row.metric ?? subjects[row.ours].metric;
  const peerKey = row.peer && (row.metric ?? subjects[row.peer].metric).key;
  const ours = why ? undefined : medianOf(results[row.ours], metric.key);
  const theirs = why || !row.peer ? undefined : medianOf(results[row.peer], peerKey);
  const absolute = row.target?.absolute === true;
  const ratio = absolute || !row.peer ? undefined : (row.ratio ?? divide)(ours, theirs);
  return {
    name: workload.name,
    workload: row.label,
    peer: row.peerLabel,
    ours,
    peerFigure: theirs,
    unit: metric.unit,
    metric: metric.key,
    ratio,
    target: row.target,
    met: judge(absolute ? ours : ratio, row.target),
    note: why ?? (row.note ? row.note(results[row.ours]) : undefined),
    subjects: ids,
  };
}

export function evaluateRows(workloads, subjects, results) {
  return workloads.flatMap((workload) => workload.rows.map((row) => evaluateRow(workload, row, subjects, results)));
}
