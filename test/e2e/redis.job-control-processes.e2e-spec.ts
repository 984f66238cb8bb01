/**
 * Job control across three real processes on one Redis queue (issue 14):
 * each child (test/fixtures/job-control/redis.child.ts) is a RedisTaskClient
 * of its own, on the direct TaskClient/TaskStore API. Schedule ticks offered
 * by all fire once; concurrency permits never let more than K run per key
 * (a ledger of starts and ends, in the order they happened); the rate limit
 * holds across processes (on the server's own grant times); a cancel in one
 * process aborts the task running in another; unique keys raced by all
 * resolve to one task each. Nothing here asserts how long anything took.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { until } from '../support/app.js';
import { redisSkip } from '../support/services.js';
import { REDIS_URL, standalone, uniquePrefix } from './redis.helpers.js';
import type { RedisTaskClient } from '../../lib/redis.js';

const childFile = new URL('../fixtures/job-control/redis.child.js', import.meta.url);

const appFile = new URL('../fixtures/job-control/redis.app.js', import.meta.url);

class Child {
  private readonly replies: Array<(value: Record<string, unknown>) => void> = [];
  stderr = '';
  /** Lines of stdout that are neither `ready` nor a reply (an app's logs). */
  readonly output: string[] = [];
  /** Resolves when the process printed `ready` (the full apps do, once started). */
  readonly ready: Promise<void>;
  constructor(readonly proc: ChildProcess) {
    let ready!: () => void;
    this.ready = new Promise<void>((resolve) => (ready = resolve));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line === 'ready') ready();
      else if (line.startsWith('{')) this.replies.shift()?.(JSON.parse(line));
      else this.output.push(line);
    });
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }
  get pid(): number {
    return this.proc.pid!;
  }
  send<T = Record<string, unknown>>(command: Record<string, unknown>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`child ${this.pid} exited (${code}): ${this.stderr}`));
      this.proc.once('exit', onExit);
      this.replies.push((value) => {
        this.proc.off('exit', onExit);
        resolve(value as T);
      });
      this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  }
}

interface Fleet {
  prefix: string;
  ledger: string;
  children: Child[];
  producer: RedisTaskClient;
  lines(): string[][];
}

async function openFleet(): Promise<Fleet> {
  const prefix = uniquePrefix();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-job-control-'));
  const ledger = join(dir, 'ledger.txt');
  writeFileSync(ledger, '');
  const children = [0, 1, 2].map(
    () =>
      new Child(
        spawn(process.execPath, [childFile.pathname], {
          env: { ...process.env, REDIS_URL, JOB_PREFIX: prefix, JOB_LEDGER: ledger },
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      ),
  );
  return {
    prefix,
    ledger,
    children,
    producer: standalone({ prefix }),
    lines: () =>
      readFileSync(ledger, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')),
  };
}

async function closeFleet(fleet: Fleet): Promise<void> {
  await stopAll(fleet.children);
  const keys = await fleet.producer.redis.keys(`${fleet.prefix}:*`);
  if (keys.length > 0) await fleet.producer.redis.del(...keys);
  await fleet.producer.close();
  rmSync(join(fleet.ledger, '..'), { recursive: true, force: true });
}

/** Most holders of one key at once, replaying starts and ends in ledger order. */
function mostAtOnce(lines: string[][]): Map<string, number> {
  const open = new Map<string, number>();
  const most = new Map<string, number>();
  for (const [event, , , key] of lines) {
    if (event === 'start') {
      const n = (open.get(key!) ?? 0) + 1;
      open.set(key!, n);
      most.set(key!, Math.max(most.get(key!) ?? 0, n));
    } else if (event === 'end' || event === 'aborted') open.set(key!, (open.get(key!) ?? 0) - 1);
  }
  return most;
}

describe('Redis job control across 3 processes', { skip: redisSkip() }, () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await openFleet();
  });
  after(() => closeFleet(fleet));

  it('a schedule tick offered by every process at once fires once', async () => {
    const ticks = Array.from({ length: 40 }, (_, i) => Date.UTC(2030, 0, 1) + i * 60_000);
    const at = Date.now() + 500;
    const replies = await Promise.all(
      fleet.children.map((c) =>
        c.send<{ fired: Array<[number, string]> }>({ cmd: 'fire', key: 'minutely', ticks, at, gapMs: 10 }),
      ),
    );
    const fired = replies.flatMap((r) => r.fired);
    assert.deepEqual(
      fired.map(([tick]) => tick).sort((a, b) => a - b),
      ticks,
      'each tick fired exactly once',
    );
    const perProcess = replies.map((r) => r.fired.length);
    const counts = await fleet.producer.counts();
    assert.equal(counts.queued, ticks.length);
    const payloads = await Promise.all(fired.map(async ([, id]) => (await fleet.producer.get(id))!.payload));
    assert.deepEqual(
      payloads.sort((a, b) => Number(a) - Number(b)),
      ticks,
    );
    // Which process won each tick is up to the race: reported, not asserted.
    console.log(`# fires per process: ${perProcess.join(', ')}`);
    // Out of the way of the next cases.
    for (const [, id] of fired) await fleet.producer.cancel(id);
  });

  it('unique keys raced by every process resolve to one task per key', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
    const at = Date.now() + 500;
    const replies = await Promise.all(
      fleet.children.map((c, p) =>
        c.send<{ ids: string[] }>({
          cmd: 'enqueue',
          at,
          tasks: keys.flatMap((uniqueKey) =>
            [0, 1].map((k) => ({
              name: 'unique',
              payload: { from: p, k },
              uniqueKey,
              onDuplicate: k === 1 ? 'replace' : 'keep',
            })),
          ),
        }),
      ),
    );
    keys.forEach((key, i) => {
      const ids = new Set(replies.flatMap((r) => [r.ids[2 * i], r.ids[2 * i + 1]]));
      assert.equal(ids.size, 1, `key ${key}: one task, got ${[...ids].join(', ')}`);
    });
    const counts = await fleet.producer.counts();
    assert.equal(counts.queued, keys.length, 'one entry per key in the stream');
    const records = await Promise.all(
      replies[0]!.ids.filter((_, i) => i % 2 === 0).map((id) => fleet.producer.get(id)),
    );
    for (const record of records) {
      assert.equal(record!.state, 'queued');
      // The last enqueue of the key replaced the payload: always one with k = 1.
      assert.equal((record!.payload as { k: number }).k, 1);
    }
    for (const record of records) await fleet.producer.cancel(record!.id);
  });

  it('concurrency permits never let more than K of a key run at once across processes', async () => {
    const K = 2;
    const before = (await fleet.producer.counts()).completed;
    const keys = ['tenant-a', 'tenant-b', 'tenant-c'];
    const ids = await fleet.producer.enqueueMany(
      Array.from({ length: 60 }, (_, n) => ({ name: 'limited', payload: n, concurrencyKey: keys[n % keys.length]! })),
    );
    writeFileSync(fleet.ledger, '');
    await Promise.all(fleet.children.map((c) => c.send({ cmd: 'work', concurrencyPerKey: K, workMs: 30, slots: 4 })));
    await until(
      async () => (await fleet.producer.counts()).completed - before >= ids.length,
      120_000,
      'every limited task',
    );
    await stopAll(fleet.children);
    const lines = fleet.lines();
    const most = mostAtOnce(lines);
    for (const key of keys) {
      assert.ok((most.get(key) ?? 0) <= K, `${key}: ${most.get(key)} at once, limit ${K}`);
      assert.ok((most.get(key) ?? 0) >= 1);
    }
    const startsBy = new Set(lines.filter(([e]) => e === 'start').map(([, pid]) => pid));
    console.log(
      `# most at once per key: ${JSON.stringify(Object.fromEntries(most))}; processes that ran tasks: ${startsBy.size}`,
    );
    assert.equal(lines.filter(([e]) => e === 'end').length, ids.length, 'each task ran once');
  });

  it('the rate limit holds across processes: no max + 1 grants within one interval (server grant times)', async () => {
    fleet.children = await respawn(fleet);
    const rateLimit = { max: 3, intervalMs: 500 };
    const before = (await fleet.producer.counts()).completed;
    const ids = await fleet.producer.enqueueMany(Array.from({ length: 15 }, (_, n) => ({ name: 'rated', payload: n })));
    writeFileSync(fleet.ledger, '');
    await Promise.all(fleet.children.map((c) => c.send({ cmd: 'work', rateLimit, workMs: 1, slots: 4 })));
    await until(
      async () => (await fleet.producer.counts()).completed - before >= ids.length,
      120_000,
      'every rated task',
    );
    await stopAll(fleet.children);
    const grants = fleet
      .lines()
      .filter(([e]) => e === 'rate')
      .map(([, , , score]) => Number(score))
      .sort((a, b) => a - b);
    assert.equal(grants.length, ids.length);
    assert.ok(
      grants.every((g) => Number.isFinite(g)),
      'every grant time read back',
    );
    for (let k = 0; k + rateLimit.max < grants.length; k++) {
      assert.ok(
        grants[k + rateLimit.max]! - grants[k]! >= rateLimit.intervalMs,
        `grants ${k} and ${k + rateLimit.max} ${grants[k + rateLimit.max]! - grants[k]!} ms apart`,
      );
    }
  });

  it('a cancel in one process aborts the task running in another; nobody runs it again', async () => {
    fleet.children = await respawn(fleet);
    writeFileSync(fleet.ledger, '');
    const ids = await fleet.producer.enqueueMany([0, 1, 2].map((n) => ({ name: 'long', payload: n })));
    await Promise.all(fleet.children.map((c) => c.send({ cmd: 'work', workMs: 120_000, slots: 1 })));
    await until(() => fleet.lines().filter(([e]) => e === 'start').length === 3, 30_000, 'three long tasks to start');
    const starts = fleet.lines().filter(([e]) => e === 'start');
    for (const [, holderPid, id] of starts) {
      const other = fleet.children.find((c) => String(c.pid) !== holderPid)!;
      assert.deepEqual(await other.send({ cmd: 'cancel', id }), { cancelled: true });
    }
    await until(() => fleet.lines().filter(([e]) => e === 'aborted').length === 3, 30_000, 'the holders to abort');
    for (const [, holderPid, id] of starts) {
      assert.ok(
        fleet.lines().some(([e, pid, i]) => e === 'notice' && pid === holderPid && i === id),
        `the holder of ${id} was told`,
      );
      assert.equal((await fleet.producer.get(id!))!.state, 'cancelled');
    }
    const counts = await fleet.producer.counts();
    assert.equal(counts.running, 0);
    assert.equal(counts.queued, 0);
    assert.ok(counts.cancelled >= ids.length);
    assert.equal(fleet.lines().filter(([e]) => e === 'start').length, 3, 'no cancelled task started again');
  });
});

/** Stops the children's loops (tasks still held are given back) and waits for them to exit. */
async function stopAll(children: readonly Child[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
      const exited = new Promise((resolve) => c.proc.once('exit', resolve));
      await c.send({ cmd: 'stop' }).catch(() => undefined);
      await exited;
    }),
  );
}

/** Fresh children, the old ones stopped. */
async function respawn(fleet: Fleet): Promise<Child[]> {
  await stopAll(fleet.children);
  return [0, 1, 2].map(
    () =>
      new Child(
        spawn(process.execPath, [childFile.pathname], {
          env: { ...process.env, REDIS_URL, JOB_PREFIX: fleet.prefix, JOB_LEDGER: fleet.ledger },
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      ),
  );
}

/** A fleet of 3 full apps (test/fixtures/job-control/redis.app.ts) instead of the direct-API children. */
async function openApps(env: Record<string, string> = {}): Promise<Fleet> {
  const fleet = await openFleet();
  await stopAll(fleet.children);
  fleet.children = [0, 1, 2].map(
    () =>
      new Child(
        spawn(process.execPath, [appFile.pathname], {
          env: { ...process.env, REDIS_URL, JOB_PREFIX: fleet.prefix, JOB_LEDGER: fleet.ledger, ...env },
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      ),
  );
  await Promise.all(
    fleet.children.map((c) =>
      Promise.race([
        c.ready,
        new Promise((_, reject) => c.proc.once('exit', () => reject(new Error(`app exited: ${c.stderr}`)))),
      ]),
    ),
  );
  return fleet;
}

describe('Redis job control across 3 full apps (worker loop, threads)', { skip: redisSkip() }, () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await openApps();
  });
  after(() => closeFleet(fleet));

  it('WorkerManager.cancel(id) in one app aborts the handler running in another app’s thread; progress reached the store', async () => {
    writeFileSync(fleet.ledger, '');
    const ids = await fleet.producer.enqueueMany([0, 1, 2].map((n) => ({ name: 'jcx.long', payload: n })));
    await until(() => fleet.lines().filter(([e]) => e === 'start').length >= 3, 60_000, 'three long tasks to start');
    const starts = fleet.lines().filter(([e]) => e === 'start');
    const holders = new Set(starts.map(([, pid]) => pid));
    console.log(`# the three tasks ran in ${holders.size} process(es)`);
    await until(
      async () => (await Promise.all(ids.map((id) => fleet.producer.get(id)))).every((r) => r?.progress !== undefined),
      30_000,
      'the handlers’ progress in the store',
    );
    assert.deepEqual((await fleet.producer.get(ids[0]!))!.progress, { stage: 'waiting' });
    for (const [, holderPid, id] of starts) {
      // Another app than the holder when there is one (the loop of one process may hold more than one task).
      const other = fleet.children.find((c) => String(c.pid) !== holderPid) ?? fleet.children[0]!;
      assert.deepEqual(await other.send({ cmd: 'cancel', id }), { cancelled: true });
    }
    await until(() => fleet.lines().filter(([e]) => e === 'aborted').length >= 3, 30_000, 'the handlers to abort');
    for (const [, holderPid, id] of starts) {
      const aborted = fleet.lines().find(([e, , i]) => e === 'aborted' && i === id)!;
      assert.equal(aborted[1], holderPid, 'aborted where it ran');
      assert.equal(aborted[3], 'ERR_WORKER_TASK_CANCELLED', 'ctx.signal.reason is a TaskCancelledError');
      assert.equal((await fleet.producer.get(id!))!.state, 'cancelled');
    }
    await until(async () => (await fleet.producer.counts()).running === 0, 30_000, 'every delivery closed');
    const counts = await fleet.producer.counts();
    assert.deepEqual([counts.queued, counts.completed, counts.failed, counts.cancelled], [0, 0, 0, 3]);
    assert.equal(fleet.lines().filter(([e]) => e === 'end').length, 0, 'no cancelled handler ran to its end');
    assert.equal(fleet.lines().filter(([e]) => e === 'start').length, 3, 'and none started again');
  });
});

describe('Redis schedules and concurrency keys across 3 full apps', { skip: redisSkip() }, () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await openApps({ JOB_SCHEDULE: '1' });
  });
  after(() => closeFleet(fleet));

  it('@Task({ concurrencyPerKey: 2 }): never more than 2 of a key run at once across the apps; a schedule every second fires each tick once', async () => {
    writeFileSync(fleet.ledger, '');
    const keys = ['a', 'b', 'c'];
    const ids = await fleet.producer.enqueueMany(
      Array.from({ length: 45 }, (_, n) => ({
        name: 'jcx.limited',
        payload: { key: keys[n % 3] },
        concurrencyKey: keys[n % 3]!,
      })),
    );
    await until(
      async () => (await Promise.all(ids.map((id) => fleet.producer.get(id)))).every((r) => r?.state === 'completed'),
      120_000,
      'every limited task',
    );
    const lines = fleet.lines();
    const most = mostAtOnce(lines.filter(([e]) => e === 'start' || e === 'end'));
    console.log(`# most at once per key across the apps: ${JSON.stringify(Object.fromEntries(most))}`);
    for (const key of keys) assert.ok((most.get(key) ?? 0) <= 2, `${key}: ${most.get(key)} at once, limit 2`);
    assert.equal(lines.filter(([e]) => e === 'end').length, ids.length, 'each ran once');

    // The schedule has been firing all along: at least 3 ticks, each fired by one app only.
    await until(
      () => fleet.children.flatMap((c) => c.output).filter((l) => / fired task /.test(l)).length >= 3,
      60_000,
      'three fires',
    );
    await stopAll(fleet.children);
    const fires = fleet.children.flatMap((c) =>
      c.output.flatMap((line) => {
        const match = / fired task jcx\.tick#(\S+) for (\d{4}-\S+?Z)\./.exec(line);
        return match ? [{ id: match[1]!, tick: match[2]! }] : [];
      }),
    );
    assert.ok(fires.length >= 3, `fires read from the apps' logs: ${fires.length}`);
    const ticks = fires.map((f) => f.tick);
    assert.equal(new Set(ticks).size, ticks.length, `a tick fired twice: ${ticks.join(', ')}`);
    for (const fire of fires) {
      const record = await fleet.producer.get(fire.id);
      assert.equal(record?.name, 'jcx.tick');
    }
    const perApp = fleet.children.map((c) => c.output.filter((l) => / fired task /.test(l)).length);
    console.log(`# ${fires.length} schedule fires, by app: ${perApp.join(', ')}`);
  });
});
