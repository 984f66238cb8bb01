import { MAX_TIMER_MS } from '../common/backoff.js';
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
