/**
 * The gRPC process test (after test/support/scale-out.ts): one task server
 * app owning a durable store, three worker apps pulling from it over
 * loopback. Mid-run one worker is killed with SIGKILL, later the server is
 * killed with SIGKILL and started again on the same port. The ledger the
 * processes write ("fetched|start|done <pid> <id> <attempt> <ms>") tells
 * what ran where, what the kill and the restart cost, and what ran twice.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  assertAllDone,
  executions,
  exited,
  freshLedger,
  readLedger,
  ready,
  spread,
  startProcess,
  stopProcesses,
  waitForCompletion,
  waitForDone,
  type FleetReport,
  type LedgerLine,
} from './scale-out.fleet.js';
import { quiet } from './grpc.support.js';
import { freePort } from './services.js';
import type { TaskCounts } from '../../lib/index.js';
import { GrpcTaskClient } from '../../lib/grpc.js';

export interface GrpcScaleOutOptions {
  /** Environment of the server app: GRPC_STORE, GRPC_QUEUE, PG_URL / REDIS_URL. */
  serverEnv: Record<string, string>;
  /** Puts the tasks on the queue (through the server) once every process is ready; returns their ids. */
  enqueue(url: string, token: string): Promise<string[]>;
  /** True once the store says every task completed. */
  isComplete(): Promise<boolean>;
  /** @default 3 */
  workers?: number;
  /** Kill a worker once this fraction of the tasks is done. @default 0.25 */
  killAt?: number;
  /** Restart the server once this fraction is done. @default 0.55 */
  restartAt?: number;
  /** @default 240000 */
  timeoutMs?: number;
}

export interface GrpcScaleOutReport extends FleetReport {
  /** Deliveries the killed worker held (fetched, not done by it) when it was killed. */
  heldAtKill: number;
  /** Deliveries the live workers held (fetched, not done) when the server was killed. */
  heldAtRestart: number;
  /** Of the tasks the killed worker held, those that ran elsewhere later, and how long until they started again. */
  rerunAfterKill: number;
  killWaitMaxMs: number;
  /** How long the server was away (kill to ready again), and executions completed meanwhile. */
  serverDownMs: number;
  doneWhileDown: number;
}

const workerApp = fileURLToPath(new URL('../fixtures/grpc/worker.app.js', import.meta.url));
const serverApp = fileURLToPath(new URL('../fixtures/grpc/server.app.js', import.meta.url));
// To read what the processes logged: GRPC_LOG_DIR=/some/dir
const start = (file: string, env: Record<string, string>) => startProcess(file, env, process.env.GRPC_LOG_DIR);

/** Deliveries fetched by `pid` before `at` and not done by it before `at`. */
function heldAt(lines: readonly LedgerLine[], pid: number, at: number): Set<string> {
  const held = new Set<string>();
  for (const line of lines) {
    if (line.pid !== pid || line.at > at) continue;
    if (line.event === 'fetched') held.add(line.id);
    if (line.event === 'done') held.delete(line.id);
  }
  return held;
}

export async function runGrpcScaleOut(options: GrpcScaleOutOptions): Promise<GrpcScaleOutReport> {
  const count = options.workers ?? 3;
  const timeoutMs = options.timeoutMs ?? 240_000;
  const { file: ledger, remove } = freshLedger('nestjs-worker-grpc-');
  const port = await freePort();
  const token = `token-${process.pid}-${Date.now()}`;
  const serverEnv = { ...options.serverEnv, GRPC_ADDRESS: `127.0.0.1:${port}`, GRPC_TOKEN: token };
  const url = `grpc://127.0.0.1:${port}`;
  const children: ChildProcess[] = [];
  let server = start(serverApp, serverEnv);
  const started = Date.now();
  const deadline = started + timeoutMs;
  try {
    await ready(server, 60_000);
    for (let i = 0; i < count; i++)
      children.push(start(workerApp, { GRPC_URL: url, GRPC_TOKEN: token, GRPC_LEDGER: ledger }));
    await Promise.all(children.map((c) => ready(c, 60_000)));
    const ids = await options.enqueue(url, token);

    const victim = children[0]!;
    const victimPid = victim.pid!;
    await waitForDone(ledger, Math.floor(ids.length * (options.killAt ?? 0.25)), deadline, 'the worker kill', (lines) =>
      lines.some((l) => l.event === 'done' && l.pid === victimPid),
    );
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(victim);

    await waitForDone(ledger, Math.floor(ids.length * (options.restartAt ?? 0.55)), deadline, 'the server restart');
    server.kill('SIGKILL');
    const downAt = Date.now();
    await exited(server);
    server = start(serverApp, serverEnv);
    await ready(server, 60_000);
    const upAt = Date.now();

    await waitForCompletion(options.isComplete, deadline);
    const elapsedMs = Date.now() - started;

    const lines = readLedger(ledger);
    const { donePerProcess, duplicateIds, extraExecutions, missing } = executions(
      lines,
      ids,
      children.map((c) => c.pid!),
    );
    const killHeld = heldAt(lines, victimPid, killedAt);
    const restartHeld = new Set(children.slice(1).flatMap((c) => [...heldAt(lines, c.pid!, downAt)]));
    const rerun = new Map<string, number>();
    for (const line of lines) {
      if (
        line.event === 'start' &&
        line.pid !== victimPid &&
        line.at >= killedAt &&
        killHeld.has(line.id) &&
        !rerun.has(line.id)
      )
        rerun.set(line.id, line.at - killedAt);
    }
    return {
      ids,
      victimPid,
      donePerProcess,
      duplicateIds,
      extraExecutions,
      missing,
      heldAtKill: killHeld.size,
      heldAtRestart: restartHeld.size,
      rerunAfterKill: rerun.size,
      killWaitMaxMs: Math.max(0, ...rerun.values()),
      serverDownMs: upAt - downAt,
      doneWhileDown: lines.filter((l) => l.event === 'done' && l.at >= downAt && l.at <= upAt).length,
      elapsedMs,
    };
  } finally {
    await stopProcesses([...children, server]);
    // To look at a run afterwards: GRPC_LEDGER_COPY=/some/file
    if (process.env.GRPC_LEDGER_COPY) copyFileSync(ledger, process.env.GRPC_LEDGER_COPY);
    remove();
  }
}

export function describeGrpcScaleOut(r: GrpcScaleOutReport): string {
  return (
    `${r.ids.length} tasks in ${r.elapsedMs} ms; done per worker {${spread(r.donePerProcess, r.victimPid)}}; ${r.missing.length} missing; ` +
    `the killed worker held ${r.heldAtKill} delivery(ies), ${r.rerunAfterKill} ran elsewhere (the last started ${r.killWaitMaxMs} ms after the kill); ` +
    `the server was away ${r.serverDownMs} ms (SIGKILL, restart), ${r.doneWhileDown} execution(s) finished meanwhile, the live workers held ${r.heldAtRestart}; ` +
    `${r.duplicateIds.length} task(s) ran more than once (${r.extraExecutions} extra executions, at-least-once)`
  );
}

/** `enqueue` for runGrpcScaleOut: `count` grpc.work tasks (payload n, 3 ms of work each) through the server. */
export function enqueueWork(count: number): GrpcScaleOutOptions['enqueue'] {
  return async (server, token) => {
    const producer = await GrpcTaskClient.connect({ url: server, token, logger: quiet });
    try {
      return [
        ...(await producer.enqueueMany(
          Array.from({ length: count }, (_, n) => ({ name: 'grpc.work', payload: { n, ms: 3 } })),
        )),
      ];
    } finally {
      producer.close();
    }
  };
}

/**
 * The checks every store's run must pass: all tasks completed (`counts` from
 * the store), every live worker worked, the killed one held tasks, and what
 * ran twice is bounded by what the kill and the restart interrupted
 * (at-least-once, not asserted away).
 */
export function checkGrpcScaleOut(t: TestContext, report: GrpcScaleOutReport, counts: TaskCounts): void {
  t.diagnostic(describeGrpcScaleOut(report));
  assertAllDone(report, counts);
  assert.ok(report.heldAtKill > 0, 'the killed worker held tasks');
  assert.ok(
    report.extraExecutions <= report.heldAtKill + report.heldAtRestart,
    `${report.extraExecutions} extra executions, more than the ${report.heldAtKill} + ${report.heldAtRestart} deliveries the kill and the restart interrupted`,
  );
}
