/**
 * The job-control tests across 3 processes, on any store (PostgreSQL,
 * Redis, or either behind one gRPC server): the store adapters (a fresh
 * queue, a producer on it, the environment the processes need, and its
 * removal), and the fleet of processes — the direct-API
 * children (test/fixtures/job-control/child.ts) or the full apps (app.ts) —
 * with the ledger file they append to, one event a line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PostgresTaskClient } from '../../lib/postgres.js';
import type { RedisTaskClient } from '../../lib/redis.js';
import { quiet, serve } from '../support/grpc.support.js';
import { redisSkip } from '../support/services.js';
import { standalone } from './redis.helpers.js';

/** One fresh queue of a store. */
export interface JobControlQueue {
  /** What the processes need to reach it (JOB_STORE and the store's own variables). */
  env: Record<string, string>;
  producer: PostgresTaskClient | RedisTaskClient;
  /**
   * PostgreSQL only: the schedule's marker (its last fired tick) and the
   * fires of `jcx.tick` in the table, in one snapshot. Redis keeps no such
   * marker, so its test reads the fires from the apps' logs alone.
   */
  scheduleSnapshot?(key: string): Promise<{ tick: string | null; fired: number }>;
  /** Removes the queue's data and closes the producer. */
  close(): Promise<void>;
}

export interface JobControlStore {
  /** For test titles: "PostgreSQL", "Redis". */
  name: string;
  skip: string | false;
  open(): Promise<JobControlQueue>;
}

export const postgresStore: JobControlStore = {
  name: 'PostgreSQL',
  skip: process.env.PG_URL ? false : 'PG_URL is not set (run through npm test)',
  async open() {
    const url = process.env.PG_URL!;
    const queue = `jc3-${randomUUID().slice(0, 8)}`;
    const producer = new PostgresTaskClient({ connectionString: url, queue, cleanupIntervalMs: 0, listen: false });
    await producer.migrate();
    return {
      env: { JOB_STORE: 'postgres', PG_URL: url, JOB_QUEUE: queue },
      producer,
      scheduleSnapshot: async (key) =>
        (
          await producer.pool.query<{ tick: string | null; fired: number }>(
            `SELECT (SELECT last_tick::text FROM "${producer.schema}".schedules WHERE queue = $1 AND key = $2) AS tick,
                    (SELECT count(*)::int FROM ${producer.table} WHERE queue = $1 AND name = 'jcx.tick') AS fired`,
            [queue, key],
          )
        ).rows[0]!,
      close: async () => {
        await producer.pool.query(`DELETE FROM ${producer.table} WHERE queue = $1`, [queue]).catch(() => undefined);
        await producer.close();
      },
    };
  },
};

export const redisStore: JobControlStore = {
  name: 'Redis',
  skip: redisSkip(),
  open() {
    const prefix = `jc3-${randomUUID().slice(0, 8)}`;
    const producer = standalone({ prefix });
    return Promise.resolve({
      env: { JOB_STORE: 'redis', REDIS_URL: process.env.REDIS_URL!, JOB_PREFIX: prefix },
      producer,
      close: async () => {
        const keys = await producer.redis.keys(`${prefix}:*`);
        if (keys.length > 0) await producer.redis.del(...keys);
        await producer.close();
      },
    });
  },
};

/**
 * The store a gRPC server serves, as a client of its own: PostgreSQL with
 * LISTEN (the producer has none), so the cancels made through the server
 * reach its watchCancels() and the workers; the lease the children's own
 * clients take (child.ts), since a gRPC worker gets its store's.
 */
const servedStores = {
  postgres: (env: Record<string, string>) =>
    new PostgresTaskClient({
      connectionString: env.PG_URL!,
      queue: env.JOB_QUEUE!,
      cleanupIntervalMs: 0,
      leaseMs: 5000,
      logger: quiet,
    }),
  redis: (env: Record<string, string>) =>
    standalone({ prefix: env.JOB_PREFIX!, blockMs: 200, leaseMs: 5000, logger: quiet }),
};

/**
 * A queue of `over` behind ONE GrpcTaskServer in the test process: the
 * processes are GrpcTaskClients of it (JOB_STORE=grpc), and reach the store
 * directly only to read what the store alone can tell (JOB_SERVED_STORE and
 * its variables: store.client.ts). The producer is the store's own client:
 * what the tests assert is what the store holds.
 */
export function grpcStore(over: keyof typeof servedStores): JobControlStore {
  const inner = over === 'postgres' ? postgresStore : redisStore;
  return {
    name: `gRPC over ${inner.name}`,
    skip: inner.skip,
    async open() {
      const queue = await inner.open();
      const store = servedStores[over](queue.env);
      const server = await serve(store).catch(async (error: unknown) => {
        await store.close();
        await queue.close();
        throw error;
      });
      return {
        env: { ...queue.env, JOB_STORE: 'grpc', JOB_SERVED_STORE: queue.env.JOB_STORE!, GRPC_URL: server.url },
        producer: queue.producer,
        ...(queue.scheduleSnapshot ? { scheduleSnapshot: queue.scheduleSnapshot } : {}),
        close: async () => {
          await server.close();
          await store.close();
          await queue.close();
        },
      };
    },
  };
}

/** A child process driven by JSON commands on stdin, each answered by a JSON line on stdout. */
export class Child {
  private readonly replies: Array<(value: Record<string, unknown>) => void> = [];
  stderr = '';
  /** Lines of stdout that are neither `ready` nor a reply (an app's logs). */
  readonly output: string[] = [];
  /** Resolves when the process printed `ready`. */
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
  get pid(): string {
    return String(this.proc.pid);
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

const fixtures = {
  child: fileURLToPath(new URL('../fixtures/job-control/child.js', import.meta.url)),
  app: fileURLToPath(new URL('../fixtures/job-control/app.js', import.meta.url)),
};

/** 3 processes on one fresh queue of a store, and the ledger they write. */
export interface Fleet {
  queue: JobControlQueue;
  children: Child[];
  ledger: string;
  /** The ledger's lines, split into words. */
  lines(): string[][];
  /** The ledger lines of one event. */
  events(event: string): string[][];
  /** Empties the ledger: a case that shares the fleet reads only its own lines. */
  clear(): void;
  /** Stops every process (what they hold is given back) and waits for them to exit. */
  stop(): Promise<void>;
  /** Stops, removes the queue and the ledger. */
  close(): Promise<void>;
}

/** Starts 3 children (`kind` 'child') or full apps ('app') on a fresh queue and waits until each is ready. */
export async function openFleet(
  store: JobControlStore,
  kind: keyof typeof fixtures,
  env: Record<string, string> = {},
): Promise<Fleet> {
  const queue = await store.open();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-job-control-'));
  const ledger = join(dir, 'ledger.txt');
  writeFileSync(ledger, '');
  const children = [0, 1, 2].map(
    () =>
      new Child(
        spawn(process.execPath, [fixtures[kind]], {
          env: { ...process.env, ...queue.env, JOB_LEDGER: ledger, ...env },
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      ),
  );
  const lines = () =>
    readFileSync(ledger, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '));
  const stop = () => stopAll(children);
  const fleet: Fleet = {
    queue,
    children,
    ledger,
    lines,
    events: (event) => lines().filter(([e]) => e === event),
    clear: () => writeFileSync(ledger, ''),
    stop,
    close: async () => {
      await stop();
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(
      children.map((c) =>
        Promise.race([
          c.ready,
          new Promise((_, reject) =>
            c.proc.once('exit', () => reject(new Error(`${kind} ${c.pid} exited: ${c.stderr}`))),
          ),
        ]),
      ),
    );
  } catch (error) {
    await fleet.close();
    throw error;
  }
  return fleet;
}

async function stopAll(children: readonly Child[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
      const exited = new Promise((resolve) => c.proc.once('exit', resolve));
      await Promise.race([c.send({ cmd: 'stop' }).catch(() => undefined), new Promise((r) => setTimeout(r, 15_000))]);
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await exited;
    }),
  );
}

/** Most holders of one key at once, replaying `open` and `close` events in ledger order (key in the 4th word). */
export function mostAtOnce(lines: string[][], open: string, close: readonly string[]): Map<string, number> {
  const now = new Map<string, number>();
  const most = new Map<string, number>();
  for (const [event, , , key] of lines) {
    if (event === open) {
      const n = (now.get(key!) ?? 0) + 1;
      now.set(key!, n);
      most.set(key!, Math.max(most.get(key!) ?? 0, n));
    } else if (close.includes(event!)) now.set(key!, (now.get(key!) ?? 0) - 1);
  }
  return most;
}
