/**
 * Scale-out harness: runs N processes of test/fixtures/scale-out/app against
 * one durable queue, SIGKILLs one of them mid-run, and reads back the ledger
 * the processes write: "fetched <pid> <task id> <attempt> <ms>" per delivery
 * their worker loop fetched, "start|done ..." per execution. From it comes
 * what the kill cost: the tasks it sent elsewhere, the attempts it charged,
 * and how long those tasks waited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ScaleOutOptions {
  /** Compiled module exporting `createScaleOutClient(): TaskClient`. */
  clientModule: URL;
  /** Extra environment for the processes (PG_URL, REDIS_URL, a queue name...). */
  env?: Record<string, string>;
  /** @default 3 */
  processes?: number;
  /** Worker threads per process. @default 1 */
  workersPerProcess?: number;
  /** Puts the tasks on the queue once every process is ready; returns their ids. */
  enqueue(): Promise<string[]>;
  /** True once the backend says every task completed. */
  isComplete(ids: readonly string[]): Promise<boolean>;
  /** Kill the victim once this fraction of the tasks is done. @default 0.25 */
  killAt?: number;
  /** @default 180000 */
  timeoutMs?: number;
}

export interface ScaleOutReport {
  ids: string[];
  pids: number[];
  victimPid: number;
  /** Completed executions (done lines) per process. */
  donePerProcess: Map<number, number>;
  /** Tasks with more than one completed execution, and how many extra executions in all. */
  duplicateIds: string[];
  extraExecutions: number;
  /** Started by the victim and not finished by it before the kill. */
  killedUnfinished: string[];
  /** Of those, the ones another process finished afterwards. */
  rerunElsewhere: string[];
  /** Ids never finished by anyone. */
  missing: string[];
  elapsedMs: number;
  /** What the kill cost; see KillCost. */
  kill: KillCost;
}

/**
 * The tasks the killed process held (fetched, started or not, or finished
 * with an outcome it never got to publish) that had to run again elsewhere.
 */
export interface KillCost {
  /** How many there were. */
  affected: number;
  /** Of those, how many had started in the killed process. */
  started: number;
  /** Of those, how many ran elsewhere as a later attempt than the one the killed process held: attempts charged by the kill. */
  charged: number;
  /** From the kill until each of them started again elsewhere, in ms: median and maximum. */
  waitMedianMs: number;
  waitMaxMs: number;
}

const appFile = fileURLToPath(new URL('../fixtures/scale-out/app.js', import.meta.url));

interface Line {
  event: 'fetched' | 'start' | 'done';
  pid: number;
  id: string;
  attempt: number;
  at: number;
}

function readLedger(file: string): Line[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    const [event, pid, id, attempt, at] = raw.split(' ');
    if ((event === 'fetched' || event === 'start' || event === 'done') && pid && id) {
      lines.push({ event, pid: Number(pid), id, attempt: Number(attempt), at: Number(at) });
    }
  }
  return lines;
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runScaleOut(options: ScaleOutOptions): Promise<ScaleOutReport> {
  const count = options.processes ?? 3;
  const timeoutMs = options.timeoutMs ?? 180_000;
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-scale-out-'));
  const ledger = join(dir, 'ledger.txt');
  writeFileSync(ledger, '');
  const children: ChildProcess[] = [];
  const started = Date.now();
  try {
    for (let i = 0; i < count; i++) {
      children.push(
        spawn(process.execPath, [appFile], {
          env: {
            ...process.env,
            ...options.env,
            SCALE_OUT_CLIENT_MODULE: options.clientModule.href,
            SCALE_OUT_LEDGER: ledger,
            SCALE_OUT_WORKERS: String(options.workersPerProcess ?? 1),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
    }
    await Promise.all(children.map((c) => waitForReady(c, 60_000)));
    const ids = await options.enqueue();
    const victim = children[0]!;
    const victimPid = victim.pid!;
    const killAt = Math.max(1, Math.floor(ids.length * (options.killAt ?? 0.25)));
    const deadline = started + timeoutMs;

    // Kill once the victim is provably mid-work: it has done some tasks and
    // the whole fleet has finished the chosen fraction.
    for (;;) {
      const lines = readLedger(ledger);
      const done = lines.filter((l) => l.event === 'done').length;
      const victimDone = lines.some((l) => l.event === 'done' && l.pid === victimPid);
      if (done >= killAt && victimDone) break;
      if (Date.now() > deadline) throw new Error(`only ${done}/${ids.length} tasks done before the kill deadline`);
      await sleep(20);
    }
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(victim);

    while (!(await options.isComplete(ids))) {
      if (Date.now() > deadline) break;
      await sleep(200);
    }
    const elapsedMs = Date.now() - started;

    const lines = readLedger(ledger);
    const donePerProcess = new Map<number, number>(children.map((c) => [c.pid!, 0]));
    const doneCount = new Map<string, number>();
    const doneBy = new Map<string, Set<number>>();
    const victimStarted = new Set<string>();
    const victimDone = new Set<string>();
    for (const line of lines) {
      if (line.event === 'start' && line.pid === victimPid) victimStarted.add(line.id);
      if (line.event !== 'done') continue;
      donePerProcess.set(line.pid, (donePerProcess.get(line.pid) ?? 0) + 1);
      doneCount.set(line.id, (doneCount.get(line.id) ?? 0) + 1);
      if (!doneBy.has(line.id)) doneBy.set(line.id, new Set());
      doneBy.get(line.id)!.add(line.pid);
      if (line.pid === victimPid) victimDone.add(line.id);
    }
    const duplicateIds = [...doneCount].filter(([, n]) => n > 1).map(([id]) => id);
    const extraExecutions = [...doneCount.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
    const killedUnfinished = [...victimStarted].filter((id) => !victimDone.has(id));
    const rerunElsewhere = killedUnfinished.filter((id) =>
      [...(doneBy.get(id) ?? [])].some((pid) => pid !== victimPid),
    );
    const missing = ids.filter((id) => !doneCount.has(id));
    return {
      kill: killCost(lines, victimPid, killedAt),
      ids,
      pids: children.map((c) => c.pid!),
      victimPid,
      donePerProcess,
      duplicateIds,
      extraExecutions,
      killedUnfinished,
      rerunElsewhere,
      missing,
      elapsedMs,
    };
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([Promise.all(children.map(exited)), sleep(15_000)]);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

function killCost(lines: readonly Line[], victimPid: number, killedAt: number): KillCost {
  const held = new Map<string, number>();
  const startedThere = new Set<string>();
  const startedElsewhere = new Map<string, Line>();
  for (const line of lines) {
    if (line.pid === victimPid) {
      if (line.event === 'fetched') held.set(line.id, line.attempt);
      if (line.event === 'start') startedThere.add(line.id);
    } else if (line.event === 'start' && line.at >= killedAt && !startedElsewhere.has(line.id)) {
      startedElsewhere.set(line.id, line);
    }
  }
  const affected = [...held].filter(([id]) => startedElsewhere.has(id));
  const waits = affected.map(([id]) => startedElsewhere.get(id)!.at - killedAt).sort((a, b) => a - b);
  return {
    affected: affected.length,
    started: affected.filter(([id]) => startedThere.has(id)).length,
    charged: affected.filter(([id, attempt]) => startedElsewhere.get(id)!.attempt > attempt).length,
    waitMedianMs: waits[Math.floor(waits.length / 2)] ?? 0,
    waitMaxMs: waits[waits.length - 1] ?? 0,
  };
}

/** One line for t.diagnostic(). */
export function describeScaleOut(report: ScaleOutReport): string {
  const spread = [...report.donePerProcess]
    .map(([pid, n]) => `${pid === report.victimPid ? 'killed ' : ''}${pid}: ${n}`)
    .join(', ');
  return (
    `${report.ids.length} tasks in ${report.elapsedMs} ms; done per process {${spread}}; ` +
    `killed process left ${report.killedUnfinished.length} unfinished, ${report.rerunElsewhere.length} re-run elsewhere; ` +
    `${report.duplicateIds.length} task(s) ran more than once (${report.extraExecutions} extra executions, at-least-once); ` +
    `${report.missing.length} missing; ` +
    `the kill sent ${report.kill.affected} task(s) elsewhere (${report.kill.started} had started there), ` +
    `charged ${report.kill.charged} attempt(s), and they waited ${report.kill.waitMedianMs} ms (median), ` +
    `${report.kill.waitMaxMs} ms (max) to start again`
  );
}
