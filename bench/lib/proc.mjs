/** Linux /proc readings: CPU time and memory of processes we started. */
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

/** utime + stime of one process (all its threads), in ms; undefined if gone. */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/**
 * CPU of a server process and everything it runs, in ms: its own time, its
 * reaped children's (cutime + cstime), and its live children's. For the
 * PostgreSQL postmaster (one backend per connection) and redis-server.
 */
export function serverCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    let ms = (ticks * 1000) / CLK_TCK;
    for (const child of childPids(pid)) ms += processCpuMs(child) ?? 0;
    return ms;
  } catch {
    return undefined;
  }
}

/** The pid of a process listening as `<binary> ... <port>` (found by its command line), or undefined. */
export function findServerPid(binary, port) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!cmd[0]?.includes(binary) && !cmd.join(' ').includes(binary)) continue;
      if (cmd.includes(String(port)) || cmd.some((a) => a.endsWith(`:${port}`))) return Number(entry);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** Children (direct) of `pid`. */
export function childPids(pid) {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    const out = new Set();
    for (const tid of tasks) {
      try {
        for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/))
          if (c) out.add(Number(c));
      } catch {
        /* thread gone */
      }
    }
    return [...out];
  } catch {
    return [];
  }
}

/** `Rss` and `Pss` of a process from smaps_rollup, in bytes. */
export function smapsRollup(pid = 'self') {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss') };
}
