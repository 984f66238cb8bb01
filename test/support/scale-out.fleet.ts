/**
 * What the two process tests share (test/support/scale-out.ts: N apps on one
 * durable store; test/support/grpc.scale-out.ts: a gRPC server app and its
 * worker apps): starting the processes and waiting for their `ready` line,
 * the ledger they append to ("fetched|start|done <pid> <id> <attempt> <ms>"),
 * waiting on it, stopping them all, and what the ledger says ran where.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { TaskCounts } from '../../lib/index.js';

export interface LedgerLine {
  event: 'fetched' | 'start' | 'done';
  pid: number;
  id: string;
  attempt: number;
  at: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An empty ledger in a directory of its own; `remove()` deletes both. */
export function freshLedger(prefix: string): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'ledger.txt');
  writeFileSync(file, '');
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function readLedger(file: string): LedgerLine[] {
  const lines: LedgerLine[] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const [event, pid, id, attempt, at] = raw.split(' ');
    if ((event === 'fetched' || event === 'start' || event === 'done') && pid && id)
      lines.push({ event, pid: Number(pid), id, attempt: Number(attempt), at: Number(at) });
  }
  return lines;
}

/** Starts `file` with Node; with `logDir`, what it prints goes to a file per process there as well. */
export function startProcess(file: string, env: Record<string, string>, logDir?: string): ChildProcess {
  const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (logDir)
    for (const stream of [child.stdout!, child.stderr!])
      stream.on('data', (d: Buffer) => appendFileSync(join(logDir, `${basename(file)}.${child.pid}.log`), d));
  return child;
}

export function ready(child: ChildProcess, timeoutMs: number): Promise<void> {
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

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM to every process still alive, 15 s to exit, then SIGKILL. */
export async function stopProcesses(children: readonly ChildProcess[]): Promise<void> {
  const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
  for (const child of children) if (alive(child)) child.kill('SIGTERM');
  await Promise.race([Promise.all(children.map(exited)), sleep(15_000)]);
  for (const child of children) if (alive(child)) child.kill('SIGKILL');
  await Promise.all(children.map(exited));
}

/** Waits until `target` executions are done and `also(lines)` holds; throws past `deadline`. */
export async function waitForDone(
  ledger: string,
  target: number,
  deadline: number,
  what: string,
  also: (lines: LedgerLine[]) => boolean = () => true,
): Promise<void> {
  for (;;) {
    const lines = readLedger(ledger);
    const done = lines.filter((l) => l.event === 'done').length;
    if (done >= target && also(lines)) return;
    if (Date.now() > deadline) throw new Error(`only ${done} tasks done before ${what}`);
    await sleep(20);
  }
}

/** Polls `complete()` until it holds or `deadline` passes (the caller's checks then say what is missing). */
export async function waitForCompletion(complete: () => Promise<boolean>, deadline: number): Promise<void> {
  while (!(await complete())) {
    if (Date.now() > deadline) return;
    await sleep(200);
  }
}

export interface Executions {
  /** Completed executions (done lines) per process, 0 for those that did none. */
  donePerProcess: Map<number, number>;
  /** The processes that completed each task. */
  doneBy: Map<string, Set<number>>;
  /** Tasks with more than one completed execution, and how many extra executions in all. */
  duplicateIds: string[];
  extraExecutions: number;
  /** Ids never finished by anyone. */
  missing: string[];
}

export function executions(lines: readonly LedgerLine[], ids: readonly string[], pids: readonly number[]): Executions {
  const donePerProcess = new Map<number, number>(pids.map((pid) => [pid, 0]));
  const doneCount = new Map<string, number>();
  const doneBy = new Map<string, Set<number>>();
  for (const line of lines) {
    if (line.event !== 'done') continue;
    donePerProcess.set(line.pid, (donePerProcess.get(line.pid) ?? 0) + 1);
    doneCount.set(line.id, (doneCount.get(line.id) ?? 0) + 1);
    if (!doneBy.has(line.id)) doneBy.set(line.id, new Set());
    doneBy.get(line.id)!.add(line.pid);
  }
  return {
    donePerProcess,
    doneBy,
    duplicateIds: [...doneCount].filter(([, n]) => n > 1).map(([id]) => id),
    extraExecutions: [...doneCount.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0),
    missing: ids.filter((id) => !doneCount.has(id)),
  };
}

/** What both runs report: the tasks, the killed process, what ran where, and how long it all took. */
export interface FleetReport extends Omit<Executions, 'doneBy'> {
  ids: string[];
  victimPid: number;
  elapsedMs: number;
}

/** "killed 123: 40, 124: 900, ..." for a diagnostic line. */
export function spread(donePerProcess: ReadonlyMap<number, number>, victimPid: number): string {
  return [...donePerProcess].map(([pid, n]) => `${pid === victimPid ? 'killed ' : ''}${pid}: ${n}`).join(', ');
}

/** Every task completed, in the store (`counts`) and in the ledger, and every process (the killed one too) did some. */
export function assertAllDone(report: FleetReport, counts: TaskCounts): void {
  assert.deepEqual(counts, {
    queued: 0,
    delayed: 0,
    running: 0,
    completed: report.ids.length,
    failed: 0,
    cancelled: 0,
  });
  assert.deepEqual(report.missing, [], 'every task ran to completion somewhere');
  for (const [pid, done] of report.donePerProcess) assert.ok(done > 0, `process ${pid} did some work`);
}
