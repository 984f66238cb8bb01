/**
 * What a run leaves: the report on stdout (header, tables, summaries),
 * results.json (options, machine, versions, rows and every measurement with
 * its rounds) and, beside it, results.md with the same tables in markdown.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { detailTables, renderMarkdown, renderText, resultsTable, subjectsTable } from './tables.mjs';

function headerLines(report) {
  const { machine, versions, options } = report;
  return [
    `nestjs-worker benchmarks — ${report.startedAt}`,
    `machine: ${machine.cpu}, ${machine.cores} cores, availableParallelism ${machine.availableParallelism}, ${machine.memory}, ${machine.os}, load average ${machine.loadavgAtStart.join(' / ')}`,
    `versions: ${Object.entries(versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
    `rounds: ${options.rounds} measured per subject, medians shown; each subject runs in a fresh process and does one warm-up round first, which is excluded${options.quick ? '; --quick: small sizes, a smoke run, not a measurement' : ''}`,
  ];
}

/** Lines after the tables: subjects' own summaries (the calibration) and the run's end. */
function footerLines(report, subjects) {
  const lines = [];
  for (const [id, m] of Object.entries(report.measurements))
    if (subjects[id]?.summary && m.result) lines.push(subjects[id].summary(m.result));
  if (report.machine.loadavgAtEnd)
    lines.push(
      `load average at the end: ${report.machine.loadavgAtEnd.join(' / ')} (a shared or busy machine makes every figure noisier)`,
    );
  if (report.seconds !== undefined) lines.push(`total: ${report.seconds.toFixed(0)} s`);
  return lines;
}

// Markdown keeps the lines apart with a hard line break (two trailing spaces).
const joinLines = (lines, format) => lines.join(format === 'markdown' ? '  \n' : '\n');

/** Machine, versions and options: printed as the run begins, and at the top of results.md. */
export function renderHeader(report, format) {
  return joinLines(headerLines(report), format);
}

const SUBJECTS_TITLE = 'per subject: median [min - max] over the measured rounds; the warm-up round is not counted';

/** The tables and the footer as text (console) or markdown (results.md, pasted into BENCHMARKS.md). */
export function renderTables(report, subjects, format, workloads = []) {
  const render = format === 'markdown' ? renderMarkdown : renderText;
  const titled = (title) => `${title}${format === 'markdown' ? ':\n\n' : '\n'}`;
  return [
    render(resultsTable(report.rows)),
    ...detailTables(workloads, report.measurements).map((t) => `${titled(t.title)}${render(t)}`),
    `${SUBJECTS_TITLE}${format === 'markdown' ? ':\n\n' : '\n'}${render(subjectsTable(report.measurements, subjects))}`,
    joinLines(footerLines(report, subjects), format),
  ].join('\n\n');
}

function writeAtomically(file, text) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** Writes results.json and results.md (the path with .md for .json); returns the markdown's path. */
export function writeReport(report, subjects, out, workloads = []) {
  writeAtomically(out, `${JSON.stringify(report, null, 2)}\n`);
  const markdown = out.endsWith('.json') ? `${out.slice(0, -5)}.md` : `${out}.md`;
  writeAtomically(
    markdown,
    `${renderHeader(report, 'markdown')}\n\n${renderTables(report, subjects, 'markdown', workloads)}\n`,
  );
  return markdown;
}
