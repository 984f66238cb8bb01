/**
 * Scale-out: 1, 2 and 3 app processes (2 threads each, the default here)
 * draining one PostgreSQL queue and one Redis queue. A row's ratio is the
 * per-process efficiency, N processes' throughput / (N x one process's): 1.0
 * would be linear. All processes and the database share this machine's
 * cores, so the details table says how busy they kept them.
 */
import { throughput } from './define.mjs';
import { formatFigure } from '../harness/format.mjs';

const BACKENDS = { postgres: 'PostgreSQL', redis: 'Redis' };
const PROCESSES = [1, 2, 3];

const id = (backend, n) => `ours.scale.${backend}.${n}`;

const subject = (backend, n) => ({
  label: `ours: ${n} process${n > 1 ? 'es' : ''} draining one ${BACKENDS[backend]} queue`,
  program: 'ours/scaleout.mjs',
  ours: true,
  server: backend,
  metric: throughput('jobs/s'),
  args: (ctx) => ({
    backend,
    url: ctx.servers[backend],
    processes: n,
    count: ctx.size(50_000, 5_000),
    warmupCount: ctx.size(5_000, 1_000),
  }),
});

const subjects = {};
const rows = [];
for (const backend of Object.keys(BACKENDS)) {
  for (const n of PROCESSES) subjects[id(backend, n)] = subject(backend, n);
  for (const n of PROCESSES.slice(1))
    rows.push({
      label: `${BACKENDS[backend]} drain, ${n} processes: per-process efficiency`,
      ours: id(backend, n),
      peer: id(backend, 1),
      peerLabel: `${n} x one process`,
      ratio: (ours, one) => (ours !== undefined && one ? ours / (one * n) : undefined),
    });
}

function details({ median }) {
  const cells = [];
  for (const [backend, name] of Object.entries(BACKENDS)) {
    const one = median(id(backend, 1), 'perSec');
    for (const n of PROCESSES) {
      const s = id(backend, n);
      const perSec = median(s, 'perSec');
      const cores = median(s, 'cores');
      cells.push([
        name,
        String(n),
        formatFigure(perSec, 'jobs/s'),
        perSec && one ? `${(perSec / one).toFixed(2)}x` : '-',
        perSec && one ? `${(perSec / one / n).toFixed(2)}` : '-',
        formatFigure(median(s, 'appCpuMsPerTask'), 'ms'),
        formatFigure(median(s, 'serverCpuMsPerTask'), 'ms'),
        median(s, 'coresBusy') !== undefined ? `${median(s, 'coresBusy').toFixed(2)} of ${cores}` : '-',
      ]);
    }
  }
  return {
    headers: [
      'queue',
      'processes',
      'drain',
      'speed-up',
      'per-process efficiency',
      'app CPU per task (all processes)',
      'server CPU per task',
      'cores busy (apps + server)',
    ],
    cells,
  };
}

export default {
  name: 'scaleout',
  title: 'scale-out: 1, 2, 3 processes draining one PostgreSQL / one Redis queue (50k no-op tasks)',
  subjects,
  rows,
  details: [{ title: 'scale-out: what limits it', table: details }],
};
