/**
 * Job control on PostgreSQL across 3 full Nest apps (worker loop, 3 threads
 * each; test/fixtures/job-control/postgres.app.ts) on one queue:
 * WorkerManager.cancel(id) in one app aborts the handler running in another
 * app's thread (the store's NOTIFY, the loop's cancel watch, ctx.signal),
 * and @Task({ concurrencyPerKey: 2 }) holds across the three apps' loops
 * (a ledger file the handlers append to from their threads).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PostgresTaskClient } from '../../lib/postgres.js';
import { until } from '../support/app.js';

const url = process.env.PG_URL;
const appFile = fileURLToPath(new URL('../fixtures/job-control/postgres.app.js', import.meta.url));

class App {
  private readonly replies: Array<(value: Record<string, unknown>) => void> = [];
  stderr = '';
  readonly ready: Promise<void>;
  constructor(readonly proc: ChildProcess) {
    let ready!: () => void;
    this.ready = new Promise<void>((resolve) => (ready = resolve));
    createInterface({ input: proc.stdout! }).on('line', (line) =>
      line === 'ready' ? ready() : this.replies.shift()?.(JSON.parse(line) as Record<string, unknown>),
    );
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }
  get pid(): string {
    return String(this.proc.pid);
  }
  send(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  }
}

describe(
  'PostgreSQL job control across 3 full apps (worker loop, threads)',
  { skip: url ? false : 'PG_URL is not set (run through npm test)' },
  () => {
    const queue = `pgx-${randomUUID().slice(0, 8)}`;
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-pgx-'));
    const ledger = join(dir, 'ledger');
    let producer: PostgresTaskClient;
    let apps: App[] = [];
    const lines = () =>
      readFileSync(ledger, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' '));

    before(async () => {
      writeFileSync(ledger, '');
      producer = new PostgresTaskClient({ connectionString: url!, queue, cleanupIntervalMs: 0, listen: false });
      await producer.migrate();
      apps = [0, 1, 2].map(
        () =>
          new App(
            spawn(process.execPath, [appFile], {
              env: { ...process.env, PG_URL: url!, JOB_QUEUE: queue, JOB_LEDGER: ledger },
              stdio: ['pipe', 'pipe', 'pipe'],
            }),
          ),
      );
      await Promise.all(
        apps.map((a) =>
          Promise.race([
            a.ready,
            new Promise((_, reject) => a.proc.once('exit', () => reject(new Error(`app exited: ${a.stderr}`)))),
          ]),
        ),
      );
    });

    after(async () => {
      await Promise.all(
        apps.map(async (a) => {
          if (a.proc.exitCode !== null) return;
          await Promise.race([a.send({ cmd: 'stop' }), new Promise((r) => setTimeout(r, 15_000))]);
          if (a.proc.exitCode === null) a.proc.kill('SIGKILL');
        }),
      );
      await producer.pool.query(`DELETE FROM ${producer.table} WHERE queue = $1`, [queue]).catch(() => undefined);
      await producer.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("WorkerManager.cancel(id) in one app aborts the handler running in another app's thread; progress reached the store", async (t) => {
      writeFileSync(ledger, '');
      const ids = await producer.enqueueMany([0, 1, 2].map((n) => ({ name: 'pgx.long', payload: n })));
      await until(() => lines().filter(([e]) => e === 'start').length >= 3, 60_000, 'three long tasks to start');
      const starts = lines().filter(([e]) => e === 'start');
      t.diagnostic(`the three tasks ran in ${new Set(starts.map(([, pid]) => pid)).size} process(es)`);
      await until(
        async () => (await Promise.all(ids.map((id) => producer.get(id)))).every((r) => r?.progress !== undefined),
        30_000,
        "the handlers' progress in the store",
      );
      assert.deepEqual((await producer.get(ids[0]!))!.progress, { stage: 'waiting' });
      for (const [, holderPid, id] of starts) {
        // Another app than the holder (the loop of one process may hold more than one task).
        const other = apps.find((a) => a.pid !== holderPid) ?? apps[0]!;
        assert.deepEqual(await other.send({ cmd: 'cancel', id }), { cancelled: true });
      }
      await until(() => lines().filter(([e]) => e === 'aborted').length >= 3, 30_000, 'the handlers to abort');
      for (const [, holderPid, id] of starts) {
        const aborted = lines().find(([e, , i]) => e === 'aborted' && i === id)!;
        assert.equal(aborted[1], holderPid, 'aborted where it ran');
        assert.equal(aborted[3], 'ERR_WORKER_TASK_CANCELLED', 'ctx.signal.reason is a TaskCancelledError');
        assert.equal((await producer.get(id!))!.state, 'cancelled');
      }
      await until(async () => (await producer.counts()).running === 0, 30_000, 'every delivery closed');
      const counts = await producer.counts();
      assert.deepEqual([counts.queued, counts.completed, counts.failed, counts.cancelled], [0, 0, 0, 3]);
      assert.equal(lines().filter(([e]) => e === 'end').length, 0, 'no cancelled handler ran to its end');
      assert.equal(lines().filter(([e]) => e === 'start').length, 3, 'and none started again');
    });

    it('@Task({ concurrencyPerKey: 2 }) holds across the three apps: at most 2 handlers per key at once', async (t) => {
      writeFileSync(ledger, '');
      const total = 36;
      const ids = await producer.enqueueMany(
        Array.from({ length: total }, (_, n) => ({
          name: 'pgx.tenant',
          payload: { key: n % 2 === 0 ? 'a' : 'b', ms: 40 },
          concurrencyKey: n % 2 === 0 ? 'a' : 'b',
        })),
      );
      await until(
        async () => (await Promise.all(ids.map((id) => producer.get(id)))).every((r) => r?.state === 'completed'),
        120_000,
        `${total} keyed tasks to complete`,
      );
      const open = new Map<string, number>();
      const peak = new Map<string, number>();
      const pids = new Set<string>();
      for (const [event, pid, , key] of lines()) {
        const now = (open.get(key!) ?? 0) + (event === 'begin' ? 1 : -1);
        open.set(key!, now);
        peak.set(key!, Math.max(peak.get(key!) ?? 0, now));
        pids.add(pid!);
        assert.ok(now <= 2, `key ${key} had ${now} handlers running at once (limit 2)`);
      }
      assert.equal(lines().filter(([e]) => e === 'begin').length, total, 'each ran once');
      t.diagnostic(
        `ran in ${pids.size} process(es); peak per key: ${[...peak].map(([k, n]) => `${k}=${n}`).join(', ')}`,
      );
    });
  },
);
