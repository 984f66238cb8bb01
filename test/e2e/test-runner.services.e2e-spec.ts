/**
 * `npm test` on a machine without redis-server: the runner's Redis step
 * (startRedisOrSkip) gives a skip reason with the install line instead of
 * failing, and every Redis spec, run with that reason as the runner passes
 * it, is reported as skipped, not failed. CI, which installs redis-server,
 * requires it instead.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import {
  REDIS_REQUIRED_ENV,
  REDIS_SKIP_ENV,
  redisServerSkip,
  redisSkip,
  startRedisOrSkip,
} from '../support/services.js';

const MISSING = '/nonexistent/redis-server';
const here = fileURLToPath(new URL('.', import.meta.url));

/** Every spec file that needs Redis, as the runner picks them (path contains "redis"), but the Valkey pass (its own binary). */
const redisSpecFiles = readdirSync(here)
  .filter((name) => /redis.*\.e2e-spec\.js$/.test(name) && !name.includes('valkey') && !name.startsWith('grpc.'))
  .map((name) => join(here, name))
  .sort();

function runSpecs(files: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const childEnv = { ...env };
  // Inside a test, node:test would report the child's tests to this run instead of printing them.
  delete childEnv.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', '--test-concurrency=1', ...files], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('close', (code) => resolve({ code, output }));
  });
}

function count(output: string, what: string): number {
  return Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(output)?.[1] ?? NaN);
}

describe('npm test without redis-server', () => {
  it('skips Redis with the install line when redis-server cannot be started', async () => {
    const result = await startRedisOrSkip({ REDIS_SERVER_BIN: MISSING });
    assert.equal(result.server, undefined);
    assert.equal(
      result.skip,
      `redis-server cannot be started (spawn ${MISSING} ENOENT). Install it to run the Redis suites: sudo apt-get install redis-server (macOS: brew install redis), or set REDIS_URL to a running server`,
    );
  });

  it('fails instead where Redis is required (CI)', async () => {
    await assert.rejects(startRedisOrSkip({ REDIS_SERVER_BIN: MISSING, [REDIS_REQUIRED_ENV]: '1' }), /Cannot start/);
  });

  it('uses REDIS_URL as it is, starting nothing', async () => {
    assert.deepEqual(await startRedisOrSkip({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_SERVER_BIN: MISSING }), {
      url: 'redis://127.0.0.1:1',
    });
  });

  it('reports every Redis spec as skipped, with the reason, and none as failed', async () => {
    assert.ok(redisSpecFiles.length >= 8, redisSpecFiles.join(', '));
    const { skip } = await startRedisOrSkip({ REDIS_SERVER_BIN: MISSING });
    const env: NodeJS.ProcessEnv = { ...process.env, [REDIS_SKIP_ENV]: skip, REDIS_SERVER_BIN: MISSING };
    delete env.REDIS_URL;
    const { code, output } = await runSpecs(redisSpecFiles, env);
    assert.equal(count(output, 'fail'), 0, output);
    assert.equal(count(output, 'pass'), 0, output);
    // node 20 counts a skipped suite in no total: its "ok ... # SKIP" line is the report.
    const skipped = output.match(/^\s*ok \d+ - .* # SKIP redis-server cannot be started/gm) ?? [];
    assert.ok(skipped.length >= redisSpecFiles.length, output);
    assert.doesNotMatch(output, /^\s*not ok /m);
    assert.equal(code, 0, output);
    assert.match(
      output,
      /# SKIP redis-server cannot be started \(spawn \/nonexistent\/redis-server ENOENT\)\. Install it/,
    );
  });

  it('skips a test that starts its own redis-server where only REDIS_URL is there', () => {
    const saved = { url: process.env.REDIS_URL, bin: process.env.REDIS_SERVER_BIN };
    try {
      process.env.REDIS_URL = 'redis://127.0.0.1:1';
      process.env.REDIS_SERVER_BIN = MISSING;
      assert.equal(redisSkip(), false);
      assert.match(
        String(redisServerSkip()),
        /this test starts a \/nonexistent\/redis-server of its own, and there is none\. Install it/,
      );
    } finally {
      for (const [key, value] of [
        ['REDIS_URL', saved.url],
        ['REDIS_SERVER_BIN', saved.bin],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
