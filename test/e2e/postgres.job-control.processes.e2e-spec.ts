/**
 * Job control across 3 real processes on one PostgreSQL queue (each a
 * PostgresTaskClient of its own: its pool, its LISTEN connection; see
 * test/fixtures/job-control/postgres.child.ts): schedule ticks offered by
 * all three fire once each; concurrency permits never exceed K per key (a
 * ledger of starts and ends ordered by one sequence); a rate limit holds
 * across processes; a cancel issued in one process reaches the task held in
 * another through its notice; unique-key enqueues racing from three
 * processes make one task per key. Nothing here asserts a duration.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PostgresTaskClient } from '../../lib/postgres.js';

const url = process.env.PG_URL;
const childFile = fileURLToPath(new URL('../fixtures/job-control/postgres.child.js', import.meta.url));
const PROCESSES = 3;

interface Child {
  process: ChildProcess;
  pid: number;
  lines: Array<Record<string, unknown>>;
  send(line: string): void;
  /** Resolves with the first line that `match` accepts (already seen or to come). */
  next(
    match: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

function startChild(env: Record<string, string>): Child {
  const child = spawn(process.execPath, [childFile], {
    env: { ...process.env, PG_URL: url!, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      lines.push({ text });
    }
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    pid: child.pid!,
    lines,
    send: (line) => child.stdin!.write(`${line}\n`),
    exited,
    next(match, what, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const failure = lines.find((line) => 'error' in line);
          if (failure) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`child ${child.pid} failed: ${String(failure.error)}`));
            return;
          }
          const found = lines.find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`child ${child.pid}: no ${what} within ${timeoutMs} ms; it said ${JSON.stringify(lines)}`));
        }, timeoutMs);
        waiters.add(check);
        void exited.then(() => setTimeout(check, 50));
        check();
      });
    },
  };
}

/** Starts 3 children in `mode`, waits until each is ready, then lets them go at once. */
async function startAll(mode: string, env: Record<string, string>): Promise<Child[]> {
  const children = Array.from({ length: PROCESSES }, () => startChild({ JOB_MODE: mode, ...env }));
  await Promise.all(children.map((c) => c.next((line) => line.ready === true, 'ready line')));
  for (const child of children) child.send('go');
  return children;
}

const doneOf = (children: Child[], timeoutMs = 120_000) =>
  Promise.all(children.map((c) => c.next((line) => line.done === true, 'done line', timeoutMs)));

describe(
  'PostgresTaskClient job control across 3 processes',
  { skip: url ? false : 'PG_URL is not set (run through npm test)' },
  () => {
    let admin: PostgresTaskClient;
    const children: Child[] = [];
    const ledgerSchema = `jc3_${randomUUID().slice(0, 8)}`;

    async function run(mode: string, env: Record<string, string>): Promise<Child[]> {
      const started = await startAll(mode, env);
      children.push(...started);
      return started;
    }

    before(async () => {
      admin = new PostgresTaskClient({ connectionString: url!, cleanupIntervalMs: 0, listen: false });
      await admin.migrate();
      await admin.pool.query(`CREATE SCHEMA ${ledgerSchema}`);
    });

    after(async () => {
      for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
      await admin.pool.query(`DROP SCHEMA ${ledgerSchema} CASCADE`).catch(() => undefined);
      await admin.close();
    });

    async function ledgerTable(): Promise<string> {
      const table = `${ledgerSchema}.l_${randomUUID().slice(0, 8)}`;
      await admin.pool.query(
        `CREATE TABLE ${table} (seq bigserial PRIMARY KEY, pid int, event text, task_id text, key text,
           before_at timestamptz, after_at timestamptz)`,
      );
      return table;
    }

    const queueName = () => `jc3-${randomUUID().slice(0, 8)}`;
    const producer = (queue: string) =>
      new PostgresTaskClient({ connectionString: url!, queue, cleanupIntervalMs: 0, listen: false });

    it('each schedule tick offered by 3 processes at once fires exactly once', async (t) => {
      const queue = queueName();
      const ticks = 40;
      const reports = await doneOf(await run('schedule', { JOB_QUEUE: queue, JOB_TICKS: String(ticks) }));
      const fired = reports.flatMap((r) => r.fired as number[]).sort((a, b) => a - b);
      assert.deepEqual(
        fired,
        Array.from({ length: ticks }, (_, i) => i + 1),
        'every tick fired, none twice',
      );
      const client = producer(queue);
      try {
        const { rows } = await client.pool.query<{ tick: number; n: number }>(
          `SELECT (payload::jsonb ->> 'tick')::int AS tick, count(*)::int AS n FROM ${client.table}
           WHERE queue = $1 AND name = 'jc3.report' GROUP BY 1 ORDER BY 1`,
          [queue],
        );
        assert.equal(rows.length, ticks);
        assert.ok(rows.every((row) => row.n === 1));
      } finally {
        await client.close();
      }
      t.diagnostic(`fires per process: ${reports.map((r) => (r.fired as number[]).length).join(', ')}`);
    });

    it('concurrency permits from 3 processes never exceed K per key (ledger of starts and ends)', async (t) => {
      const queue = queueName();
      const ledger = await ledgerTable();
      const perKey = 2;
      const keys = ['tenant-a', 'tenant-b'];
      const total = 80;
      const client = producer(queue);
      try {
        await client.migrate();
        await client.enqueueMany(
          Array.from({ length: total }, (_, n) => ({
            name: 'jc3.tenant',
            payload: { n },
            concurrencyKey: keys[n % keys.length]!,
          })),
        );
        const reports = await doneOf(
          await run('permits', {
            JOB_QUEUE: queue,
            JOB_LEDGER: ledger,
            JOB_PER_KEY: String(perKey),
            JOB_TOTAL: String(total),
            // Many deliveries of one key asking at once in every process: the contention the lock is for.
            JOB_FETCH: '8',
          }),
        );
        const { rows } = await client.pool.query<{ event: string; key: string; task_id: string; pid: number }>(
          `SELECT event, key, task_id, pid FROM ${ledger} ORDER BY seq`,
        );
        const open = new Map<string, number>();
        let peak = 0;
        const peakPerKey = new Map<string, number>();
        for (const row of rows) {
          const now = (open.get(row.key) ?? 0) + (row.event === 'start' ? 1 : -1);
          open.set(row.key, now);
          peakPerKey.set(row.key, Math.max(peakPerKey.get(row.key) ?? 0, now));
          peak = Math.max(peak, now);
          assert.ok(now <= perKey, `key ${row.key} had ${now} running at once (limit ${perKey})`);
        }
        assert.equal(rows.filter((row) => row.event === 'start').length, total, 'every task ran once');
        assert.equal((await client.counts()).completed, total);
        const pids = new Set(rows.map((row) => row.pid));
        t.diagnostic(
          `runs per process: ${reports.map((r) => r.ran).join(', ')}; peak per key: ${[...peakPerKey].map(([k, n]) => `${k}=${n}`).join(', ')}`,
        );
        assert.ok(pids.size >= 2, `the work was shared between processes (${pids.size})`);
        assert.equal(peak, perKey, 'the limit was reached (the test exercised it)');
      } finally {
        await client.close();
      }
    });

    it('a rate limit holds across processes: max grants per window, and a sliding window never exceeded', async (t) => {
      // A window longer than the test: exactly max grants, however the three race.
      const queue = queueName();
      const ledger = await ledgerTable();
      const client = producer(queue);
      try {
        await client.enqueueMany(Array.from({ length: 30 }, (_, n) => ({ name: 'jc3.rated', payload: { n } })));
        const reports = await doneOf(
          await run('rate', {
            JOB_QUEUE: queue,
            JOB_LEDGER: ledger,
            JOB_RATE_MAX: '5',
            JOB_RATE_MS: '600000',
            JOB_TOTAL: '30',
            JOB_RUN_MS: '3000',
          }),
        );
        const { rows } = await client.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ledger}`);
        assert.equal(rows[0]!.n, 5, 'five grants in the window, across three processes');
        const denied = reports.reduce((sum, r) => sum + (r.denied as number), 0);
        assert.ok(denied >= PROCESSES, `the others were denied (${denied} denials)`);
        t.diagnostic(`long window: 5 grants, ${denied} denials`);
      } finally {
        await client.close();
      }

      // A short window drained by all three: any max + 1 grants span at least the interval.
      const queue2 = queueName();
      const ledger2 = await ledgerTable();
      const client2 = producer(queue2);
      const max = 4;
      const intervalMs = 400;
      const total = 24;
      try {
        await client2.enqueueMany(Array.from({ length: total }, (_, n) => ({ name: 'jc3.rated', payload: { n } })));
        await doneOf(
          await run('rate', {
            JOB_QUEUE: queue2,
            JOB_LEDGER: ledger2,
            JOB_RATE_MAX: String(max),
            JOB_RATE_MS: String(intervalMs),
            JOB_TOTAL: String(total),
          }),
        );
        const { rows } = await client2.pool.query<{ before_ms: number; after_ms: number }>(
          `SELECT extract(epoch FROM before_at) * 1000 AS before_ms, extract(epoch FROM after_at) * 1000 AS after_ms
           FROM ${ledger2} ORDER BY before_at`,
        );
        assert.equal(rows.length, total);
        // Each grant happened between its before and after readings of the
        // database clock. max + 1 grants must span the interval, so the
        // latest "after" among them minus the earliest "before" is at least
        // the interval: a bound that holds whatever the scheduling delays.
        let tightest = Infinity;
        for (let i = 0; i + max < rows.length; i++) {
          const group = rows.slice(i, i + max + 1);
          const span = Math.max(...group.map((r) => Number(r.after_ms))) - Number(group[0]!.before_ms);
          tightest = Math.min(tightest, span);
          assert.ok(span >= intervalMs, `grants ${i}..${i + max} span only ${span} ms (< ${intervalMs})`);
        }
        t.diagnostic(`short window: ${total} grants, tightest ${max + 1}-grant span ${tightest.toFixed(0)} ms`);
      } finally {
        await client2.close();
      }
    });

    it('a cancel issued in one process reaches the task held in another (NOTIFY), which aborts it', async () => {
      const queue = queueName();
      const client = producer(queue);
      try {
        const started = await run('cancel', { JOB_QUEUE: queue, JOB_LEASE_MS: '3000' });
        const ids = await client.enqueueMany([1, 2, 3].map((n) => ({ name: 'jc3.long', payload: { n } })));
        const holders = await Promise.all(
          started.map(async (child) => ({
            child,
            id: (await child.next((l) => 'holding' in l, 'a held task')).holding as string,
          })),
        );
        assert.deepEqual(holders.map((h) => h.id).sort(), [...ids].sort(), 'each process holds one task');
        // Process 0 cancels the task process 1 holds.
        const victim = holders[1]!;
        holders[0]!.child.send(`cancel ${victim.id}`);
        const answer = await holders[0]!.child.next((l) => l.cancelled === victim.id, 'the cancel answer');
        assert.equal(answer.ok, true);
        await victim.child.next((l) => l.aborted === victim.id, 'the holder to abort the cancelled task', 30_000);
        assert.equal((await client.get(victim.id))?.state, 'cancelled');
        // The others are untouched, still held by their processes.
        for (const other of [holders[0]!, holders[2]!]) {
          assert.equal((await client.get(other.id))?.state, 'running');
          assert.ok(!other.child.lines.some((l) => 'aborted' in l), 'nothing else was aborted');
        }
        // A cancel of a task held by the process that issues it works the same way.
        holders[2]!.child.send(`cancel ${holders[2]!.id}`);
        await holders[2]!.child.next((l) => l.aborted === holders[2]!.id, 'the self-held task to abort', 30_000);
        assert.equal((await client.get(holders[2]!.id))?.state, 'cancelled');
        assert.equal((await client.counts()).cancelled, 2);
        for (const h of holders) h.child.send('stop');
        await Promise.all(holders.map((h) => h.child.exited));
        assert.deepEqual(
          started.flatMap((c) => c.lines.filter((l) => 'warn' in l)),
          [],
          'no process warned (no lost lease, no stale outcome)',
        );
      } finally {
        await client.close();
      }
    });

    const variants: Array<{ title: string; env: Record<string, string> }> = [
      { title: "enqueue() with 'keep'", env: { JOB_ON_DUPLICATE: 'keep' } },
      { title: "enqueueMany() with 'keep'", env: { JOB_ON_DUPLICATE: 'keep', JOB_MANY: '1' } },
      { title: "enqueue() with 'replace'", env: { JOB_ON_DUPLICATE: 'replace' } },
      { title: "enqueueMany() with 'replace'", env: { JOB_ON_DUPLICATE: 'replace', JOB_MANY: '1' } },
    ];
    for (const variant of variants) {
      it(`unique keys enqueued by 3 processes at once (${variant.title}): one task per key, the same id everywhere`, async () => {
        const queue = queueName();
        const keys = 150;
        const reports = await doneOf(await run('unique', { JOB_QUEUE: queue, JOB_KEYS: String(keys), ...variant.env }));
        const client = producer(queue);
        try {
          for (let k = 0; k < keys; k++) {
            const ids = new Set(reports.map((r) => (r.byKey as Record<string, string>)[`tenant-${k}`]));
            assert.equal(ids.size, 1, `tenant-${k} got ${ids.size} different ids`);
          }
          const { rows } = await client.pool.query<{ n: number; keys: number }>(
            `SELECT count(*)::int AS n, count(DISTINCT unique_key)::int AS keys FROM ${client.table} WHERE queue = $1`,
            [queue],
          );
          assert.deepEqual(rows[0], { n: keys, keys });
          const pids = new Set(reports.map((r) => r.pid as number));
          const { rows: payloads } = await client.pool.query<{ pid: number }>(
            `SELECT DISTINCT (payload::jsonb ->> 'pid')::int AS pid FROM ${client.table} WHERE queue = $1`,
            [queue],
          );
          assert.ok(
            payloads.every((row) => pids.has(row.pid)),
            'every payload is one of the processes',
          );
        } finally {
          await client.close();
        }
      });
    }
  },
);
