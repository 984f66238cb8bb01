import { Logger, type LoggerService } from '@nestjs/common';
import type { Pool, PoolConfig } from 'pg';
import { optionChecks, shown } from '../../common/option-checks.js';
import { redactUrl } from '../../common/url-redaction.js';
import { InvalidPostgresTaskClientOptionsError } from '../../errors/worker.errors.js';
import type { PostgresTaskClientOptions } from './postgres-task-client-options.interface.js';

export interface ResolvedPostgresOptions {
  pool?: Pool;
  /** For the pool the client makes; undefined when `pool` was given. */
  poolConfig?: PoolConfig;
  schema: string;
  queue: string;
  migrate: boolean;
  leaseMs: number;
  maxAttempts: number;
  keepCompletedMs: number;
  keepFailedMs: number;
  cleanupIntervalMs: number;
  listen: boolean;
  enqueueChunkSize: number;
  logger: LoggerService;
}

const fail = (option: string, problem: string, fix: string) =>
  new InvalidPostgresTaskClientOptionsError(option, problem, fix);
const check = optionChecks(fail);

/** Defaults and validation of `PostgresTaskClientOptions`; every error names the fix. */
export function resolvePostgresOptions(options: PostgresTaskClientOptions | undefined): ResolvedPostgresOptions {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw fail(
      '(options)',
      `must be an object, got ${String(options)}`,
      'Pass { connectionString } or { pool }: new PostgresTaskClient({ connectionString: process.env.DATABASE_URL }). As a WorkerModule client, use { useFactory: () => new PostgresTaskClient({ ... }) }.',
    );
  }
  const { pool, connectionString, poolConfig } = options;
  if (pool !== undefined) {
    if (connectionString !== undefined || poolConfig !== undefined) {
      throw fail(
        'pool',
        'cannot be combined with "connectionString" or "poolConfig"',
        'Give either a ready pg.Pool as "pool", or the settings of a pool for the client to make, not both.',
      );
    }
    if (
      typeof pool !== 'object' ||
      pool === null ||
      typeof (pool as Pool).connect !== 'function' ||
      typeof (pool as Pool).query !== 'function'
    ) {
      throw fail(
        'pool',
        'is not a pg.Pool',
        'Pass `new Pool({ ... })` from the "pg" package, or use "connectionString".',
      );
    }
  } else {
    if (connectionString === undefined && poolConfig === undefined) {
      throw fail(
        'connectionString',
        'is missing (and no "pool" was given)',
        'Pass connectionString: "postgres://user:password@host:5432/database", a "poolConfig", or a ready pg.Pool as "pool".',
      );
    }
    if (
      connectionString !== undefined &&
      (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(connectionString))
    ) {
      throw fail(
        'connectionString',
        // Shown to find the typo, never with its password (this goes to logs).
        `must be a postgres:// or postgresql:// URL, got ${typeof connectionString === 'string' ? `"${redactUrl(connectionString)}"` : shown(connectionString)}`,
        'For example "postgres://user:password@127.0.0.1:5432/app".',
      );
    }
    if (poolConfig !== undefined && (typeof poolConfig !== 'object' || poolConfig === null)) {
      throw fail(
        'poolConfig',
        `must be an object of pg.Pool settings, got ${String(poolConfig)}`,
        'For example { max: 10, ssl: { rejectUnauthorized: true } }.',
      );
    }
  }
  const schema = options.schema ?? 'nestjs_worker';
  // Interpolated into SQL as a quoted identifier, and part of the NOTIFY
  // channel name (at most 63 bytes): keep it plain.
  if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,49}$/.test(schema)) {
    throw fail(
      'schema',
      `must be a lowercase identifier (letters, digits, "_"; at most 50 characters), got ${JSON.stringify(schema)}`,
      'Use a name such as "nestjs_worker" or "jobs".',
    );
  }
  const queue = options.queue ?? 'default';
  if (typeof queue !== 'string' || queue === '' || queue.length > 200) {
    throw fail(
      'queue',
      `must be a non-empty string of at most 200 characters, got ${JSON.stringify(queue)}`,
      'Use a short name such as "default" or "emails".',
    );
  }
  const listen = check.bool('listen', options.listen, true);
  // The LISTEN connection is taken out of the pool for good: with one
  // connection in all, every query would wait for it forever.
  const max = pool !== undefined ? (pool as { options?: { max?: number } }).options?.max : poolConfig?.max;
  if (listen && typeof max === 'number' && max < 2) {
    throw fail(
      pool !== undefined ? 'pool' : 'poolConfig.max',
      `allows ${max} connection(s), but LISTEN keeps one of them open`,
      "Allow at least 2 connections (pg's default is 10), or set listen: false.",
    );
  }
  const leaseMs = check.int('leaseMs', options.leaseMs, 30_000, {
    min: 200,
    max: 86_400_000,
    fix: 'Use a number of milliseconds, at least a few times longer than a stall of your event loop (default 30000).',
  });
  const day = 86_400_000;
  const year = 366 * day;
  return {
    ...(pool !== undefined ? { pool } : {}),
    ...(pool === undefined
      ? {
          poolConfig: {
            max: 10,
            connectionTimeoutMillis: 10_000,
            keepAlive: true,
            application_name: 'nestjs-worker',
            ...poolConfig,
            ...(connectionString !== undefined ? { connectionString } : {}),
          },
        }
      : {}),
    schema,
    queue,
    migrate: check.bool('migrate', options.migrate, false),
    leaseMs,
    maxAttempts: check.int('maxAttempts', options.maxAttempts, 3, {
      min: 1,
      max: 1_000_000,
      fix: 'Use a whole number of attempts, the first included (default 3).',
    }),
    keepCompletedMs: check.int('keepCompletedMs', options.keepCompletedMs, day, {
      min: 0,
      max: year,
      fix: 'Use a number of milliseconds (default 86400000, one day); 0 deletes completed rows at the next cleanup.',
    }),
    keepFailedMs: check.int('keepFailedMs', options.keepFailedMs, 7 * day, {
      min: 0,
      max: year,
      fix: 'Use a number of milliseconds (default 604800000, seven days).',
    }),
    cleanupIntervalMs: check.int('cleanupIntervalMs', options.cleanupIntervalMs, 60_000, {
      min: 0,
      max: day,
      fix: 'Use a number of milliseconds (default 60000), or 0 to never clean up from this client.',
    }),
    listen,
    enqueueChunkSize: check.int('enqueueChunkSize', options.enqueueChunkSize, 5000, {
      min: 1,
      max: 100_000,
      fix: 'Use a number of rows per INSERT such as 5000 (the default).',
    }),
    logger: options.logger ?? new Logger('PostgresTaskClient'),
  };
}
