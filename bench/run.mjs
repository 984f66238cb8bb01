#!/usr/bin/env node
/**
 * `npm run bench`: the workloads declared in bench/registry, ours against
 * their peers, in one run on this machine. Builds what the subjects load,
 * runs each subject in a fresh child process (a warm-up round, reported and
 * never counted, then --rounds measured rounds), prints the results table
 * with the targets and writes bench/results.json and bench/results.md.
 * `npm run bench -- --help` for the options; BENCHMARKS.md for the method.
 */
import { readFileSync } from 'node:fs';
import { build, snapshotInfo } from './harness/build.mjs';
import { parseCommandLine, usage, UsageError } from './harness/cli.mjs';
import { log } from './harness/log.mjs';
import { loadavg, machineInfo } from './harness/machine.mjs';
import { planSubjects } from './harness/plan.mjs';
import { renderHeader, renderTables, writeReport } from './harness/report.mjs';
import { evaluateRows } from './harness/rows.mjs';
import { Interrupted, runSubjects } from './harness/runner.mjs';
import { subjects, workloads } from './registry/index.mjs';

function selectWorkloads(only) {
  return only.length ? workloads.filter((w) => only.includes(w.name)) : workloads;
}

function listWorkloads() {
  for (const w of workloads) {
    const targets = w.rows.filter((row) => row.target).length;
    console.log(
      `${w.name.padEnd(10)} ${w.title} (${w.rows.length} row${w.rows.length === 1 ? '' : 's'}, ${targets} with a target)`,
    );
  }
}

/** --from: the tables of an earlier run, rows evaluated anew from the registry. */
function rerender(opts) {
  const report = JSON.parse(readFileSync(opts.from, 'utf8'));
  const selected = selectWorkloads(opts.only.length ? opts.only : (report.options?.only ?? []));
  const planned = new Set(planSubjects(selected, subjects));
  report.measurements = Object.fromEntries(Object.entries(report.measurements ?? {}).filter(([id]) => planned.has(id)));
  report.rows = evaluateRows(selected, subjects, report.measurements);
  const format = opts.markdown ? 'markdown' : 'text';
  console.log(`${renderHeader(report, format)}\n\n${renderTables(report, subjects, format, selected)}`);
}

async function measure(opts) {
  const selected = selectWorkloads(opts.only);
  const order = planSubjects(selected, subjects);
  if (opts.build) build(opts.ref);
  else log('# --no-build: using the library snapshot and fixtures already in bench/');
  const info = machineInfo(snapshotInfo());

  const startedAt = Date.now();
  const options = {
    rounds: opts.rounds,
    quick: opts.quick,
    only: opts.only,
    profile: opts.profile,
    warmup: 'one warm-up round per subject process, excluded from the medians',
  };
  const format = opts.markdown ? 'markdown' : 'text';
  console.log(`${renderHeader({ startedAt: new Date(startedAt).toISOString(), options, ...info }, format)}\n`);
  const measurements = await runSubjects(order, subjects, opts, info);
  info.machine.loadavgAtEnd = loadavg();

  const report = {
    startedAt: new Date(startedAt).toISOString(),
    seconds: (Date.now() - startedAt) / 1000,
    options,
    ...info,
    rows: evaluateRows(selected, subjects, measurements),
    measurements,
  };
  const markdown = writeReport(report, subjects, opts.out, selected);
  console.log(renderTables(report, subjects, format, selected));
  console.log(`results: ${opts.out}, ${markdown}`);
}

async function main() {
  const opts = parseCommandLine(
    process.argv.slice(2),
    workloads.map((w) => w.name),
  );
  if (opts.help) console.log(usage);
  else if (opts.list) listWorkloads();
  else if (opts.from) rerender(opts);
  else await measure(opts);
}

main().catch((error) => {
  if (error instanceof UsageError) {
    console.error(`bench: ${error.message}\n\n${usage}`);
    process.exit(2);
  }
  if (error instanceof Interrupted) {
    console.error(`bench: ${error.message}`);
    process.exit(130);
  }
  console.error(error?.stack ?? error);
  process.exit(1);
});
