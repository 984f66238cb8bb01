import { MAX_TIMER_MS } from '../common/backoff.js';
import { INT4_MAX } from '../clients/kit/enqueue.validator.js';
import { optionChecks, shown, type OptionFailure } from '../common/option-checks.js';
import type { TaskOptions } from '../interfaces/task-options.interface.js';
import type { RetryBackoffOptions } from '../interfaces/worker-module-options.interface.js';

const JITTERS = ['full', 'equal', 'none'] as const;

/**
 * Checks the options of one task, as `@Task()` and `functions[].options`
 * take them; `prefix` is where they sit (`functions[0].options.`). Returns
 * them unchanged: defaults are the module's, filled in at bootstrap.
 */
export function checkTaskOptions(options: unknown, fail: OptionFailure, prefix = ''): TaskOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') {
    throw fail(
      prefix ? prefix.slice(0, -1) : '(options)',
      `must be an object, got ${shown(options)}`,
      'Pass an object.',
    );
  }
  const checks = optionChecks(fail);
  const o = options as Record<string, unknown>;
  const path = (key: string) => `${prefix}${key}`;
  checks.num(path('timeoutMs'), o.timeoutMs, 0, {
    min: 0,
    max: MAX_TIMER_MS,
    fix: `Set "${path('timeoutMs')}" to a number of milliseconds (0 for no limit), or leave it out for the module's defaultTimeoutMs.`,
  });
  checks.int(path('maxAttempts'), o.maxAttempts, 1, {
    min: 1,
    fix: `Set "${path('maxAttempts')}" to a whole number of at least 1 (the first attempt included), or leave it out for the module's retry.maxAttempts.`,
  });
  checks.bool(path('batch'), o.batch, true);
  if (o.backoff !== undefined) checkBackoff(path('backoff'), o.backoff, fail);
  checkJobControl(o, path, fail);
  if (o.retryIf !== undefined && typeof o.retryIf !== 'function') {
    throw fail(
      path('retryIf'),
      `must be a function, got ${shown(o.retryIf)}`,
      'Pass (error, attempt) => boolean: true to allow another attempt.',
    );
  }
  if (o.schema !== undefined && !isStandardSchema(o.schema)) {
    throw fail(
      path('schema'),
      `must be a Standard Schema (an object whose "~standard".validate is a function), got ${shown(o.schema)}`,
      'Pass a schema from zod 3.24+, valibot, arktype or any library that implements https://standardschema.dev.',
    );
  }
  return options as TaskOptions;
}

/** Checks a (partial) backoff; every field may be left out for its default. */
export function checkBackoff(path: string, value: unknown, fail: OptionFailure): Partial<RetryBackoffOptions> {
  if (value === null || typeof value !== 'object') {
    throw fail(
      path,
      `must be an object, got ${shown(value)}`,
      'Pass { initialMs, factor, maxMs, jitter }, each optional.',
    );
  }
  const checks = optionChecks(fail);
  const backoff = value as Record<string, unknown>;
  for (const key of ['initialMs', 'factor', 'maxMs'] as const) {
    checks.num(`${path}.${key}`, backoff[key], 0, {
      min: 0,
      fix: `Use a non-negative number, or leave "${path}.${key}" out for the default.`,
    });
  }
  if (backoff.jitter !== undefined && !JITTERS.includes(backoff.jitter as never)) {
    throw fail(
      `${path}.jitter`,
      `must be "full", "equal" or "none", got ${shown(backoff.jitter)}`,
      'Use one of the listed values.',
    );
  }
  return value as Partial<RetryBackoffOptions>;
}

/** `partial` over `base`, fields left out (or undefined) keeping the base's. */
export function mergeBackoff(base: RetryBackoffOptions, partial: Partial<RetryBackoffOptions>): RetryBackoffOptions {
  const out = { ...base };
  for (const key of Object.keys(partial) as Array<keyof RetryBackoffOptions>) {
    if (partial[key] !== undefined) (out as Record<string, unknown>)[key] = partial[key];
  }
  return out;
}

function isStandardSchema(value: unknown): boolean {
  const standard = (value as { '~standard'?: { validate?: unknown } } | null)?.['~standard'];
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof standard === 'object' &&
    standard !== null &&
    typeof standard.validate === 'function'
  );
}

/**
 * `rateLimit`, `concurrencyPerKey` and the shape of `schedule`. The cron
 * expression and the time zone themselves are read at bootstrap by the
 * scheduler (lib/schedule/), which loads the cron parser only in the main
 * thread of an application that has schedules.
 */
function checkJobControl(o: Record<string, unknown>, path: (key: string) => string, fail: OptionFailure): void {
  const checks = optionChecks(fail);
  if (o.rateLimit !== undefined) {
    const rate = o.rateLimit as Record<string, unknown> | null;
    if (rate === null || typeof rate !== 'object' || rate.max === undefined || rate.intervalMs === undefined) {
      throw fail(
        path('rateLimit'),
        `must be { max, intervalMs }, got ${shown(o.rateLimit)}`,
        'Pass { max: <starts per interval>, intervalMs: <interval in ms> }, e.g. { max: 10, intervalMs: 1000 }.',
      );
    }
    checks.int(path('rateLimit.max'), rate.max, 1, {
      min: 1,
      max: INT4_MAX,
      fix: `Set "${path('rateLimit.max')}" to the whole number of starts allowed per interval (at least 1).`,
    });
    checks.int(path('rateLimit.intervalMs'), rate.intervalMs, 1, {
      min: 1,
      max: MAX_TIMER_MS,
      fix: `Set "${path('rateLimit.intervalMs')}" to the interval in whole milliseconds (at least 1).`,
    });
  }
  checks.int(path('concurrencyPerKey'), o.concurrencyPerKey, 1, {
    min: 1,
    max: INT4_MAX,
    fix: `Set "${path('concurrencyPerKey')}" to how many tasks of one concurrencyKey may run at once (at least 1), or leave it out for no limit.`,
  });
  if (o.schedule !== undefined) checkScheduleShape(path('schedule'), o.schedule, fail);
}

/** The fields of a schedule, without reading the cron expression (see checkJobControl). */
export function checkScheduleShape(path: string, value: unknown, fail: OptionFailure): void {
  if (value === null || typeof value !== 'object') {
    throw fail(
      path,
      `must be an object, got ${shown(value)}`,
      `Pass { cron: '0 6 * * *', timezone: 'Europe/Berlin' } (timezone, payload, catchUp and key are optional).`,
    );
  }
  const s = value as Record<string, unknown>;
  if (typeof s.cron !== 'string' || s.cron.trim() === '') {
    throw fail(
      `${path}.cron`,
      `must be a cron expression, got ${shown(s.cron)}`,
      `Use five fields (minute hour day-of-month month day-of-week), or six with seconds first, e.g. '0 6 * * *'.`,
    );
  }
  const checks = optionChecks(fail);
  if (s.timezone !== undefined) {
    checks.text(`${path}.timezone`, s.timezone, 'UTC', undefined, `Use an IANA time zone such as 'Europe/Berlin'.`);
  }
  checks.oneOf(`${path}.catchUp`, s.catchUp, ['latest', 'none'] as const, 'latest');
  if (s.key !== undefined) {
    checks.text(`${path}.key`, s.key, '', undefined, 'Use a non-empty name, or leave it out for the task name.');
  }
}
