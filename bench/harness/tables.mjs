/**
 * The one table builder: the results table (one line per row of the
 * registry) and the per-subject table (every measurement with its spread),
 * each built once as headers + cells and rendered as aligned text for the
 * console or as markdown for results.md, BENCHMARKS.md and the README.
 */
import { spread } from '../lib/stats.mjs';
import { formatFigure, formatRatio, formatResult, formatTarget } from './format.mjs';
import { medianOf, roundsOf } from './rows.mjs';

export function resultsTable(rows) {
  return {
    headers: ['workload', 'peer', 'ours', 'peer figure', 'ratio', 'target', 'result'],
    cells: rows.map((row) => [
      row.workload,
      row.peer ?? '',
      row.note && row.ours === undefined ? row.note : formatFigure(row.ours, row.unit),
      formatFigure(row.peerFigure, row.unit),
      formatRatio(row.ratio),
      formatTarget(row.target, row.unit),
      formatResult(row),
    ]),
  };
}

/** Subjects with a metric, in the order they ran; median [min - max], warm-up round in its own column. */
export function subjectsTable(results, subjects) {
  const cells = [];
  for (const [id, m] of Object.entries(results)) {
    const metric = subjects[id]?.metric;
    if (!metric) continue;
    if (m.skipped || m.error) {
      cells.push([id, m.skipped ? 'skipped' : 'ERROR', '', '', m.skipped ?? String(m.error).split('\n')[0]]);
      continue;
    }
    const { key, unit } = metric;
    const range = spread(roundsOf(m).map((round) => round[key]));
    cells.push([
      id,
      formatFigure(medianOf(m, key), unit),
      range ? `${formatFigure(range.min, unit)} - ${formatFigure(range.max, unit)}` : '-',
      formatFigure(m.result.warmup?.[key], unit),
      `${m.label} (${key})`,
    ]);
  }
  return { headers: ['subject', 'median', 'min - max', 'warm-up', 'what'], cells };
}

/**
 * A workload's own extra tables (`details` in its registry file), built from
 * the measurements: a breakdown that a ratio per row cannot show.
 */
export function detailTables(workloads, measurements) {
  const view = {
    median: (id, key) => medianOf(measurements[id], key),
    result: (id) => measurements[id]?.result,
  };
  return workloads.flatMap((workload) =>
    (workload.details ?? []).map((detail) => ({ title: detail.title, ...detail.table(view) })),
  );
}

export function renderText({ headers, cells }) {
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => String(row[i]).length)));
  const line = (row) => row.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n');
}

export function renderMarkdown({ headers, cells }) {
  const escape = (cell) => String(cell).replaceAll('|', '\\|');
  const line = (row) => `| ${row.map(escape).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...cells.map(line)].join('\n');
}
