import { Logger, type LoggerService } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import { optionChecks, shown } from '../../common/option-checks.js';
import { redactUrl } from '../../common/url-redaction.js';
import { InvalidRedisTaskClientOptionsError } from '../../errors/worker.errors.js';
import type { RedisTaskClientOptions } from './redis-task-client-options.interface.js';

export interface ResolvedRedisOptions {
  connection?: Redis;
  url: string;
  redisOptions: RedisOptions;
  prefix: string;
  queue: string;
  leaseMs: number;
  blockMs: number;
  keepCompletedMs: number;
  keepFailedMs: number;
  maxAttempts: number;
  logger: LoggerService;
}

const fail = (option: string, problem: string, fix: string) =>
  new InvalidRedisTaskClientOptionsError(option, problem, fix);
const check = optionChecks(fail);
const DAY = 86_400_000;
const YEAR = 366 * DAY;

/** Key parts: spaces would make keys that other tools (and people) misread. */
const name = (option: string, value: unknown, fallback: string) =>
  check.text(
    option,
    value,
    fallback,
    /^\S+$/,
    `Set it to a short name without spaces such as "${fallback}", or leave it out.`,
  );

/** Defaults and validation of `RedisTaskClientOptions`; every error names the fix. */
export function resolveRedisOptions(options: RedisTaskClientOptions = {}): ResolvedRedisOptions {
  if (options === null || typeof options !== 'object') {
    throw fail(
      '(options)',
      `must be an object, got ${String(options)}`,
      'Pass { url } or { connection }, or nothing for redis://127.0.0.1:6379.',
    );
  }
  const { connection, url } = options;
  if (connection !== undefined && url !== undefined) {
    throw fail(
      'url',
      'cannot be combined with "connection"',
      'Give either a ready ioredis instance as "connection" or a "url", not both.',
    );
  }
  if (
    connection !== undefined &&
    (typeof connection !== 'object' || typeof (connection as Redis).duplicate !== 'function')
  ) {
    throw fail(
      'connection',
      'is not an ioredis instance',
      'Pass `new Redis(...)` from the "ioredis" package (a Cluster is not supported), or use "url".',
    );
  }
  if ((connection as { isCluster?: boolean } | undefined)?.isCluster) {
    throw fail(
      'connection',
      'is a Redis Cluster client, which is not supported',
      'Pass a single-node or Sentinel `new Redis(...)` connection.',
    );
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    // A URL with another scheme still carries the password: never echo it whole.
    throw fail(
      'url',
      `must be a redis:// or rediss:// URL, got ${typeof url === 'string' ? `"${redactUrl(url)}"` : shown(url)}`,
      'For example "redis://127.0.0.1:6379/0".',
    );
  }
  // Scripts build record keys from the prefix themselves; an ioredis keyPrefix would only apply to some keys.
  if (connection?.options?.keyPrefix || options.redisOptions?.keyPrefix) {
    throw fail(
      connection?.options?.keyPrefix ? 'connection' : 'redisOptions.keyPrefix',
      'uses the ioredis "keyPrefix" option',
      'Remove keyPrefix and set the "prefix" option of RedisTaskClient instead.',
    );
  }
  const leaseMs = check.int('leaseMs', options.leaseMs, 30_000, {
    min: 100,
    max: DAY,
    fix: 'Use a number of milliseconds, at least a few times longer than a stall of your event loop (default 30000).',
  });
  const blockMs = check.int('blockMs', options.blockMs, 1000, {
    min: 1,
    max: DAY,
    fix: 'Use a number of milliseconds such as 1000.',
  });
  if (blockMs >= leaseMs) {
    throw fail(
      'blockMs',
      `(${blockMs}) must be below leaseMs (${leaseMs})`,
      'Lower blockMs (default 1000) or raise leaseMs.',
    );
  }
  return {
    ...(connection ? { connection } : {}),
    url: url ?? 'redis://127.0.0.1:6379',
    redisOptions: options.redisOptions ?? {},
    prefix: name('prefix', options.prefix, 'nestjs-worker'),
    queue: name('queue', options.queue, 'default'),
    leaseMs,
    blockMs,
    keepCompletedMs: check.int('keepCompletedMs', options.keepCompletedMs, DAY, {
      min: 1,
      max: YEAR,
      fix: 'Use a number of milliseconds (default 86400000, one day).',
    }),
    keepFailedMs: check.int('keepFailedMs', options.keepFailedMs, 7 * DAY, {
      min: 1,
      max: YEAR,
      fix: 'Use a number of milliseconds (default 604800000, seven days).',
    }),
    maxAttempts: check.int('maxAttempts', options.maxAttempts, 3, {
      min: 1,
      max: 1_000_000,
      fix: 'Use a whole number of attempts, the first included (default 3).',
    }),
    logger: options.logger ?? new Logger('RedisTaskClient'),
  };
}
