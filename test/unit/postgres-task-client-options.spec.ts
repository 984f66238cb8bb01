import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { InvalidPostgresTaskClientOptionsError } from '../../lib/errors/worker.errors.js';
import { resolvePostgresOptions } from '../../lib/clients/postgres/postgres-task-client-options.resolver.js';

const connectionString = 'postgres://u:p@127.0.0.1:5432/app';

describe('resolvePostgresOptions', () => {
  it('fills in the documented defaults', () => {
    const o = resolvePostgresOptions({ connectionString });
    assert.deepEqual(
      { ...o, logger: undefined },
      {
        poolConfig: {
          max: 10,
          connectionTimeoutMillis: 10_000,
          keepAlive: true,
          application_name: 'nestjs-worker',
          connectionString,
        },
        schema: 'nestjs_worker',
        queue: 'default',
        migrate: false,
        leaseMs: 30_000,
        maxAttempts: 3,
        keepCompletedMs: 86_400_000,
        keepFailedMs: 604_800_000,
        cleanupIntervalMs: 60_000,
        listen: true,
        enqueueChunkSize: 5000,
        logger: undefined,
      },
    );
    assert.equal(resolvePostgresOptions({ connectionString, poolConfig: { max: 3 } }).poolConfig?.max, 3);
  });

  it('takes a ready pool as it is, and makes no pool settings then', () => {
    const pool = { connect() {}, query() {}, on() {} } as never;
    const o = resolvePostgresOptions({ pool });
    assert.equal(o.pool, pool);
    assert.equal(o.poolConfig, undefined);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['no options', undefined, /"\(options\)" must be an object.*useFactory/],
    ['no connection at all', {}, /"connectionString" is missing.*a ready pg\.Pool as "pool"/],
    [
      'a pool and a connection string',
      { pool: { connect() {}, query() {} }, connectionString },
      /"pool" cannot be combined with "connectionString"/,
    ],
    ['something that is not a pool', { pool: {} }, /"pool" is not a pg\.Pool/],
    ['a URL of another scheme', { connectionString: 'mysql://x' }, /must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [
      'a schema that needs quoting',
      { connectionString, schema: 'My-Schema' },
      /"schema" must be a lowercase identifier/,
    ],
    ['an empty queue', { connectionString, queue: '' }, /"queue" must be a non-empty string/],
    [
      'a lease too short',
      { connectionString, leaseMs: 10 },
      /"leaseMs" must be an integer from 200.*longer than a stall/,
    ],
    ['zero attempts', { connectionString, maxAttempts: 0 }, /"maxAttempts" must be an integer from 1/],
    ['a negative retention', { connectionString, keepFailedMs: -1 }, /"keepFailedMs" must be an integer from 0/],
    ['a string flag', { connectionString, migrate: 'yes' }, /"migrate" must be true or false/],
    [
      'a one-connection pool with LISTEN',
      { connectionString, poolConfig: { max: 1 } },
      /"poolConfig\.max" allows 1 connection\(s\), but LISTEN keeps one.*or set listen: false/,
    ],
    [
      'a one-connection pool of yours with LISTEN',
      { pool: { connect() {}, query() {}, options: { max: 1 } } },
      /"pool" allows 1 connection\(s\)/,
    ],
  ];
  it('shows a connection string of the wrong scheme without its password, so the error can go to logs', () => {
    for (const [given, shown] of [
      ['mysql://admin:s3cret-pw@db.internal:3306/app', 'mysql://admin:***@db.internal:3306/app'],
      ['postgres:/admin:s3cret-pw@db.internal/app', 'postgres:***@db.internal/app'],
      ['admin:s3cret-pw@db.internal/app', 'admin:***@db.internal/app'],
      ['http://db.internal/app?user=admin&password=s3cret-pw', 'http://db.internal/app?user=admin&password=***'],
      ['mysql://admin:p@ss:w/rd@s3cret-pw@host/app', 'mysql://admin:***@host/app'],
    ]) {
      assert.throws(
        () => resolvePostgresOptions({ connectionString: given }),
        (error: Error) => {
          assert.doesNotMatch(error.message, /s3cret/, given);
          assert.ok(error.message.includes(`"${shown}"`), error.message);
          return true;
        },
      );
    }
  });

  for (const [what, options, message] of bad) {
    it(`refuses ${what}, naming the option and the fix`, () => {
      assert.throws(
        () => resolvePostgresOptions(options as never),
        (error: Error & { code?: string }) => {
          assert.ok(error instanceof InvalidPostgresTaskClientOptionsError);
          assert.equal(error.code, 'ERR_WORKER_POSTGRES_INVALID_OPTIONS');
          assert.match(error.message, /^PostgresTaskClient option /);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});

describe('the "pg" peer dependency', () => {
  it('is not needed to load the package, nor to use a pool you pass; without it, making a pool says what to install', () => {
    // A child process in which "pg" cannot be resolved, from ESM or CommonJS.
    const index = new URL('../../lib/index.js', import.meta.url).href;
    const entry = new URL('../../lib/postgres.js', import.meta.url).href;
    const script = `
      import Module, { register } from 'node:module';
      const missing = (s) => s === 'pg' || s.startsWith('pg/');
      register('data:text/javascript,' + encodeURIComponent(
        "export async function resolve(s, c, next) { if (s === 'pg' || s.startsWith('pg/')) { const e = new Error('Cannot find package pg'); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return next(s, c); }"));
      const resolveFilename = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (missing(request)) { const e = new Error("Cannot find module 'pg'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
        return resolveFilename.call(this, request, ...rest);
      };
      const root = await import(${JSON.stringify(index)});
      const lib = await import(${JSON.stringify(entry)});
      const out = { loaded: typeof root.WorkerModule === 'function' && typeof lib.PostgresTaskClient === 'function' };
      try { new lib.PostgresTaskClient({ connectionString: 'postgres://u:p@127.0.0.1:1/x' }); } catch (e) { out.code = e.code; out.message = e.message; }
      const pool = { connect() {}, query() {}, on() {}, off() {} };
      out.withPool = new lib.PostgresTaskClient({ pool }).pool === pool;
      console.log(JSON.stringify(out));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
    assert.equal(out.loaded, true);
    assert.equal(out.code, 'ERR_WORKER_POSTGRES_DEPENDENCY');
    assert.match(out.message, /npm install pg/);
    assert.equal(out.withPool, true);
  });
});
