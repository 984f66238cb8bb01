/**
 * Runs the planned subjects one after another (never two at once: they
 * would share the 2 cores), each in its own process, with the servers they
 * need started once around them. Returns the measurements by subject id.
 */
import { median } from '../lib/stats.mjs';
import { runChild } from './child.mjs';
import { log } from './log.mjs';
import { serversFor } from './plan.mjs';
import { startServers } from './servers.mjs';

export class Interrupted extends Error {
  constructor(signal) {
    super(`interrupted by ${signal}; no report written`);
  }
}

/** What a subject's `args(ctx)` may read: sizes for this mode, server URLs, earlier results. */
function context(results, servers, quick) {
  return {
    quick,
    size: (full, quickSize) => (quick ? quickSize : full),
    servers,
    result: (id) => results[id]?.result,
    median: (id, key) => median((results[id]?.result?.rounds ?? []).map((round) => round[key])),
  };
}

/** `info` (the report's machine/versions) gets the PostgreSQL version once the server is up. */
export async function runSubjects(order, subjects, { rounds, quick, profile }, info) {
  const results = {};
  let servers = { why: {}, dispose: async () => undefined };
  // Ctrl-C: no further subject starts, the running one is killed, the servers
  // are removed, and no report is written over the last complete one. A second
  // Ctrl-C exits at once.
  const stop = new AbortController();
  const onSignal = (signal) => {
    if (stop.signal.aborted) process.exit(130);
    log(`# ${signal}: stopping the subject and the servers`);
    stop.abort(new Interrupted(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    servers = await startServers(serversFor(order, subjects));
    if (servers.postgresVersion) info.versions.postgresql = servers.postgresVersion;
    const ctx = context(results, servers, quick);
    for (const id of order) {
      if (stop.signal.aborted) break;
      const spec = subjects[id];
      const skip = (reason) => {
        results[id] = { label: spec.label, skipped: reason };
        log(`- ${id}: skipped (${reason})`);
      };
      if (spec.server && !servers[spec.server]) {
        skip(servers.why[spec.server] ?? `${spec.server} not available`);
        continue;
      }
      let args;
      try {
        args = typeof spec.args === 'function' ? spec.args(ctx) : (spec.args ?? {});
      } catch (error) {
        skip(`needs an earlier measurement: ${error.message}`);
        continue;
      }
      log(`- ${id}: ${spec.label} ...`);
      const outcome = await runChild(id, spec, spec.rounds === false ? args : { ...args, rounds }, {
        profile,
        signal: stop.signal,
      });
      results[id] = { label: spec.label, args, ...outcome };
      if (outcome.skipped) log(`  skipped: ${outcome.skipped}`);
      else if (outcome.error) log(`  ERROR: ${outcome.error}`);
      else log(`  done in ${outcome.seconds.toFixed(1)} s`);
    }
  } finally {
    await servers.dispose();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (stop.signal.aborted) throw stop.signal.reason;
  return results;
}
