/**
 * Job control on PostgreSQL across 3 full Nest apps (worker loop, 3 threads
 * each; test/fixtures/job-control/postgres.app.ts) on one queue:
 * WorkerManager.cancel(id) in one app aborts the handler running in another
 * app's thread (the store's NOTIFY, the loop's cancel watch, ctx.signal),
 * and @Task({ concurrencyPerKey: 2 }) holds across the three apps' loops
 * (a ledger file the handlers append to from their threads); a schedule
 * every second in all three apps fires each tick once.
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

async function startApps(env: Record<string, string>): Promise<App[]> {
  const apps = [0, 1, 2].map(
    () =>
      new App(
        spawn(process.execPath, [appFile], {
          env: { ...process.env, PG_URL: url!, ...env },
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
  return apps;
}

async function stopApps(apps: readonly App[]): Promise<void> {
  await Promise.all(
    apps.map(async (a) => {
      if (a.proc.exitCode !== null) return;
      await Promise.race([a.send({ cmd: 'stop' }), new Promise((r) => setTimeout(r, 15_000))]);
      if (a.proc.exitCode === null) a.proc.kill('SIGKILL');
    }),
  );
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
      apps = await startApps({ JOB_QUEUE: queue, JOB_LEDGER: ledger });
    });

    after(async () => {
      await stopApps(apps);
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

describe(
  'PostgreSQL schedules across 3 full apps',
  { skip: url ? false : 'PG_URL is not set (run through npm test)' },
  () => {
    it('a schedule every second in all three apps fires each tick at most once', async (t) => {
      const queue = `pgx-${randomUUID().slice(0, 8)}`;
      const key = `every-second-${randomUUID().slice(0, 6)}`;
      const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-pgx-'));
      const producer = new PostgresTaskClient({ connectionString: url!, queue, cleanupIntervalMs: 0, listen: false });
      let apps: App[] = [];
      try {
        await producer.migrate();
        apps = await startApps({
          JOB_QUEUE: queue,
          JOB_LEDGER: join(dir, 'ledger'),
          JOB_SCHEDULE: '1',
          JOB_SCHEDULE_KEY: key,
        });
        // The marker and the fires so far, in one snapshot: a fire moves the
        // marker and inserts its task in one transaction, so from here every
        // tick up to the last marker fired at most once (a tick fired twice
        // makes more fires than ticks; one may be skipped only if all three
        // apps stalled past it, which the catch-up rule allows).
        const read = async () =>
          (
            await producer.pool.query<{ tick: string | null; fired: number }>(
              `SELECT (SELECT last_tick::text FROM "${producer.schema}".schedules WHERE queue = $1 AND key = $2) AS tick,
                      (SELECT count(*)::int FROM ${producer.table} WHERE queue = $1 AND name = 'pgx.tick') AS fired`,
              [queue, key],
            )
          ).rows[0]!;
        await until(async () => (await read()).tick !== null, 60_000, 'the schedule marker');
        const start = await read();
        await until(async () => (await read()).fired >= start.fired + 4, 60_000, 'four more ticks to fire');
        await stopApps(apps);
        const end = await read();
        const ticks = (Number(end.tick) - Number(start.tick)) / 1000;
        const fired = end.fired - start.fired;
        t.diagnostic(`${fired} fire(s) for ${ticks} tick(s), each offered by 3 apps`);
        assert.ok(fired <= ticks, `${fired} fires for ${ticks} ticks: a tick fired more than once`);
        assert.ok(fired >= 4);
      } finally {
        await stopApps(apps);
        await producer.pool.query(`DELETE FROM ${producer.table} WHERE queue = $1`, [queue]).catch(() => undefined);
        await producer.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
