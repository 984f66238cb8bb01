/**
 * Runs the planned subjects one after another (never two at once: they
 * would share the 2 cores), each in its own process, with the servers they
 * need started once around them. Returns the measurements by subject id.
 */
import { median } from '../lib/stats.mjs';
import { runChild } from './child.mjs';
import { runInterleaved } from './interleave.mjs';
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
    const partners = interleavePartners(order, subjects);
    /** The subject's arguments, or undefined after recording why it cannot run. */
    const prepare = (id) => {
      const spec = subjects[id];
      const skip = (reason) => {
        results[id] = { label: spec.label, skipped: reason };
        log(`- ${id}: skipped (${reason})`);
      };
      if (spec.server && !servers[spec.server]) {
        skip(servers.why[spec.server] ?? `${spec.server} not available`);
        return undefined;
      }
      try {
        const args = typeof spec.args === 'function' ? spec.args(ctx) : (spec.args ?? {});
        return spec.rounds === false ? args : { ...args, rounds };
      } catch (error) {
        skip(`needs an earlier measurement: ${error.message}`);
        return undefined;
      }
    };
    const record = (id, args, outcome) => {
      results[id] = { label: subjects[id].label, args, ...outcome };
      if (outcome.skipped) log(`  ${id} skipped: ${outcome.skipped}`);
      else if (outcome.error) log(`  ${id} ERROR: ${outcome.error}`);
      else log(`  ${id} done in ${outcome.seconds.toFixed(1)} s`);
    };
    const options = { profile, signal: stop.signal };
    for (const id of order) {
      if (stop.signal.aborted) break;
      if (id in results) continue;
      const partner = partners.get(id);
      const args = prepare(id);
      if (args === undefined) continue;
      const partnerArgs = partner && !(partner in results) ? prepare(partner) : undefined;
      if (partnerArgs !== undefined) {
        log(`- ${id} and ${partner}, rounds interleaved: ${subjects[id].label} / ${subjects[partner].label} ...`);
        const [mine, theirs] = await runInterleaved(
          [
            { id, spec: subjects[id], args },
            { id: partner, spec: subjects[partner], args: partnerArgs },
          ],
          rounds,
          options,
        );
        record(id, args, mine);
        record(partner, partnerArgs, theirs);
        continue;
      }
      log(`- ${id}: ${subjects[id].label} ...`);
      record(id, args, await runChild(id, subjects[id], args, options));
    }
  } finally {
    await servers.dispose();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (stop.signal.aborted) throw stop.signal.reason;
  return results;
}

/** Pairs declared with `interleave` (both ways), for the planned subjects only. */
function interleavePartners(order, subjects) {
  const partners = new Map();
  for (const id of order) {
    const other = subjects[id].interleave;
    if (!other || !order.includes(other)) continue;
    partners.set(id, other);
    partners.set(other, id);
  }
  return partners;
}
