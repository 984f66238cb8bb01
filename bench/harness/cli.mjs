/** The command line of `npm run bench`, parsed with node:util's parseArgs (strict: unknown options are errors). */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchPath } from '../lib/paths.mjs';

export const usage = `Usage: npm run bench -- [options]

  (no options)          every workload, 5 measured rounds per subject
  --list                the workload names and what they measure
  --only <names>        some workloads, comma-separated or repeated: --only map,latency
  --rounds <n>          measured rounds per subject (default 5, 1 with --quick)
  --quick               small sizes and 1 round: a smoke run, not a measurement
  --no-build            reuse the library snapshot and fixtures in bench/ as they are
  --ref <commit>        build the library from lib/ at a git commit instead of the working
                        tree (compare two commits; measure while lib/ is mid-edit)
  --profile             also write .cpuprofile files of our subjects to bench/.build/profiles/
  --out <file>          where results.json goes (default bench/results.json); the
                        markdown tables go beside it, with .md for .json
  --markdown            print the tables as markdown (ready for BENCHMARKS.md / README)
  --from <file>         re-render the tables of an earlier results.json; builds and runs nothing
  -h, --help            this text

Exit status: 0 on a finished run (targets met or not), 1 on a failure of the
harness, 2 on a usage error.`;

export class UsageError extends Error {}

const options = {
  only: { type: 'string', multiple: true },
  rounds: { type: 'string' },
  quick: { type: 'boolean', default: false },
  'no-build': { type: 'boolean', default: false },
  ref: { type: 'string' },
  profile: { type: 'boolean', default: false },
  out: { type: 'string' },
  markdown: { type: 'boolean', default: false },
  from: { type: 'string' },
  list: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

/** Options as the orchestrator uses them; throws UsageError on anything it cannot honour. */
export function parseCommandLine(argv, knownWorkloads) {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(error.message);
  }
  const only = (values.only ?? []).flatMap((list) =>
    list
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );
  const unknown = only.filter((name) => !knownWorkloads.includes(name));
  if (unknown.length)
    throw new UsageError(`unknown workload(s) ${unknown.join(', ')}; known: ${knownWorkloads.join(', ')}`);
  let rounds = values.quick ? 1 : 5;
  if (values.rounds !== undefined) {
    rounds = Number(values.rounds);
    if (!/^\d+$/.test(values.rounds.trim()) || rounds < 1) throw new UsageError('--rounds must be a whole number >= 1');
  }
  if (
    values.from &&
    (values.quick || values.rounds !== undefined || values.profile || values['no-build'] || values.ref)
  )
    throw new UsageError(
      '--from re-renders an earlier run: --quick, --rounds, --profile, --no-build and --ref do not apply',
    );
  if (values.ref && values['no-build'])
    throw new UsageError('--ref builds the library: it does not go with --no-build');
  return {
    help: values.help,
    list: values.list,
    only,
    rounds,
    quick: values.quick,
    build: !values['no-build'],
    ref: values.ref,
    profile: values.profile,
    markdown: values.markdown,
    from: values.from,
    out: values.out ?? join(benchPath, 'results.json'),
  };
}
