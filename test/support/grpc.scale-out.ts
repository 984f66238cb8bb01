/**
 * The gRPC process test (after test/support/scale-out.ts): one task server
 * app owning a durable store, three worker apps pulling from it over
 * loopback. Mid-run one worker is killed with SIGKILL, later the server is
 * killed with SIGKILL and started again on the same port. The ledger the
 * processes write ("fetched|start|done <pid> <id> <attempt> <ms>") tells
 * what ran where, what the kill and the restart cost, and what ran twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './services.js';

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

export interface GrpcScaleOutReport {
  ids: string[];
  victimPid: number;
  donePerProcess: Map<number, number>;
  duplicateIds: string[];
  extraExecutions: number;
  missing: string[];
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
  elapsedMs: number;
}

interface Line {
  event: 'fetched' | 'start' | 'done';
  pid: number;
  id: string;
  attempt: number;
  at: number;
}

const workerApp = fileURLToPath(new URL('../fixtures/grpc/worker.app.js', import.meta.url));
const serverApp = fileURLToPath(new URL('../fixtures/grpc/server.app.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readLedger(file: string): Line[] {
  const lines: Line[] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const [event, pid, id, attempt, at] = raw.split(' ');
    if ((event === 'fetched' || event === 'start' || event === 'done') && pid && id)
      lines.push({ event, pid: Number(pid), id, attempt: Number(attempt), at: Number(at) });
  }
  return lines;
}

function start(file: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // To read what the processes logged: GRPC_LOG_DIR=/some/dir
  const logs = process.env.GRPC_LOG_DIR;
  if (logs)
    for (const stream of [child.stdout!, child.stderr!])
      stream.on('data', (d: Buffer) => appendFileSync(join(logs, `${basename(file)}.${child.pid}.log`), d));
  return child;
}

function ready(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`process ${child.pid} not ready after ${timeoutMs} ms: ${err}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process ${child.pid} exited (${code}) before it was ready: ${err}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Deliveries fetched by `pid` before `at` and not done by it before `at`. */
function heldAt(lines: readonly Line[], pid: number, at: number): Set<string> {
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
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-grpc-'));
  const ledger = join(dir, 'ledger.txt');
  writeFileSync(ledger, '');
  const port = await freePort();
  const token = `token-${process.pid}-${Date.now()}`;
  const serverEnv = { ...options.serverEnv, GRPC_ADDRESS: `127.0.0.1:${port}`, GRPC_TOKEN: token };
  const url = `grpc://127.0.0.1:${port}`;
  const children: ChildProcess[] = [];
  let server = start(serverApp, serverEnv);
  const started = Date.now();
  const deadline = started + timeoutMs;
  const doneCount = () => readLedger(ledger).filter((l) => l.event === 'done').length;
  const waitDone = async (target: number, what: string, also: () => boolean = () => true) => {
    while (doneCount() < target || !also()) {
      if (Date.now() > deadline) throw new Error(`only ${doneCount()} tasks done before ${what}`);
      await sleep(20);
    }
  };
  try {
    await ready(server, 60_000);
    for (let i = 0; i < count; i++)
      children.push(start(workerApp, { GRPC_URL: url, GRPC_TOKEN: token, GRPC_LEDGER: ledger }));
    await Promise.all(children.map((c) => ready(c, 60_000)));
    const ids = await options.enqueue(url, token);

    const victim = children[0]!;
    const victimPid = victim.pid!;
    await waitDone(Math.floor(ids.length * (options.killAt ?? 0.25)), 'the worker kill', () =>
      readLedger(ledger).some((l) => l.event === 'done' && l.pid === victimPid),
    );
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(victim);

    await waitDone(Math.floor(ids.length * (options.restartAt ?? 0.55)), 'the server restart');
    server.kill('SIGKILL');
    const downAt = Date.now();
    await exited(server);
    server = start(serverApp, serverEnv);
    await ready(server, 60_000);
    const upAt = Date.now();

    while (!(await options.isComplete())) {
      if (Date.now() > deadline) break;
      await sleep(200);
    }
    const elapsedMs = Date.now() - started;

    const lines = readLedger(ledger);
    const donePerProcess = new Map<number, number>(children.map((c) => [c.pid!, 0]));
    const doneTimes = new Map<string, number>();
    for (const line of lines) {
      if (line.event !== 'done') continue;
      donePerProcess.set(line.pid, (donePerProcess.get(line.pid) ?? 0) + 1);
      doneTimes.set(line.id, (doneTimes.get(line.id) ?? 0) + 1);
    }
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
      duplicateIds: [...doneTimes].filter(([, n]) => n > 1).map(([id]) => id),
      extraExecutions: [...doneTimes.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0),
      missing: ids.filter((id) => !doneTimes.has(id)),
      heldAtKill: killHeld.size,
      heldAtRestart: restartHeld.size,
      rerunAfterKill: rerun.size,
      killWaitMaxMs: Math.max(0, ...rerun.values()),
      serverDownMs: upAt - downAt,
      doneWhileDown: lines.filter((l) => l.event === 'done' && l.at >= downAt && l.at <= upAt).length,
      elapsedMs,
    };
  } finally {
    const all = [...children, server];
    for (const child of all) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([Promise.all(all.map(exited)), sleep(15_000)]);
    for (const child of all) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(all.map(exited));
    // To look at a run afterwards: GRPC_LEDGER_COPY=/some/file
    if (process.env.GRPC_LEDGER_COPY) copyFileSync(ledger, process.env.GRPC_LEDGER_COPY);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function describeGrpcScaleOut(r: GrpcScaleOutReport): string {
  const spread = [...r.donePerProcess]
    .map(([pid, n]) => `${pid === r.victimPid ? 'killed ' : ''}${pid}: ${n}`)
    .join(', ');
  return (
    `${r.ids.length} tasks in ${r.elapsedMs} ms; done per worker {${spread}}; ${r.missing.length} missing; ` +
    `the killed worker held ${r.heldAtKill} delivery(ies), ${r.rerunAfterKill} ran elsewhere (the last started ${r.killWaitMaxMs} ms after the kill); ` +
    `the server was away ${r.serverDownMs} ms (SIGKILL, restart), ${r.doneWhileDown} execution(s) finished meanwhile, the live workers held ${r.heldAtRestart}; ` +
    `${r.duplicateIds.length} task(s) ran more than once (${r.extraExecutions} extra executions, at-least-once)`
  );
}
