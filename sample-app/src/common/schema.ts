/**
 * A very small payload validator that speaks Standard Schema
 * (https://standardschema.dev), the format `@Task({ schema })` accepts. Zod,
 * valibot or arktype would do the same job; this keeps the sample free of
 * extra dependencies.
 *
 * Every task declares its payload once. The HTTP layer validates with it
 * before anything is enqueued (a bad payload is a 400, nothing is stored),
 * and the worker thread validates again before the handler runs (payloads
 * that reach a durable queue some other way are checked too).
 */
import type { StandardSchemaLike, StandardSchemaResult } from 'nestjs-worker';

export interface Issue {
  readonly message: string;
  readonly path: readonly PropertyKey[];
}

type Checked<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

/** One value's rule. `describe` is what `GET /tasks` shows for it. */
export interface Field<T> {
  readonly check: (value: unknown, path: readonly PropertyKey[]) => Checked<T>;
  readonly describe: string | Record<string, unknown>;
  readonly optional: boolean;
}

export type Infer<F> = F extends Field<infer T> ? T : never;

const shown = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json === undefined ? typeof value : json.length > 40 ? `${json.slice(0, 37)}...` : json;
};
const fail = (path: readonly PropertyKey[], message: string): Checked<never> => ({
  ok: false,
  issues: [{ message, path }],
});

export function string(options: { min?: number; max?: number } = {}): Field<string> {
  const { min = 0, max = Infinity } = options;
  return {
    optional: false,
    describe: `string${min > 0 || max < Infinity ? ` (${min}..${max === Infinity ? '' : max} characters)` : ''}`,
    check: (value, path) => {
      if (typeof value !== 'string') return fail(path, `must be a string, got ${shown(value)}`);
      if (value.length < min || value.length > max) {
        return fail(
          path,
          `must have ${min}..${max === Infinity ? 'any number of' : max} characters, got ${value.length}`,
        );
      }
      return { ok: true, value };
    },
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Base64 text, at most `maxBytes` once decoded. Stays a string (JSON- and clone-friendly). */
export function base64(options: { maxBytes: number }): Field<string> {
  return {
    optional: false,
    describe: `base64 string (up to ${options.maxBytes} bytes decoded)`,
    check: (value, path) => {
      if (typeof value !== 'string') return fail(path, `must be a base64 string, got ${shown(value)}`);
      if (!BASE64.test(value)) return fail(path, 'is not valid base64');
      const bytes = (value.length / 4) * 3 - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0);
      if (bytes > options.maxBytes)
        return fail(path, `decodes to ${bytes} bytes, more than the ${options.maxBytes} allowed`);
      return { ok: true, value };
    },
  };
}

export function int(options: { min: number; max: number }): Field<number> {
  const { min, max } = options;
  return {
    optional: false,
    describe: `integer ${min}..${max}`,
    check: (value, path) =>
      typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
        ? { ok: true, value }
        : fail(path, `must be an integer from ${min} to ${max}, got ${shown(value)}`),
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Field<T> {
  return {
    optional: false,
    describe: values.map((v) => JSON.stringify(v)).join(' | '),
    check: (value, path) =>
      values.includes(value as T)
        ? { ok: true, value: value as T }
        : fail(path, `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}, got ${shown(value)}`),
  };
}

/** The field may be left out; `fallback` (if any) is used then. */
export function optional<T>(field: Field<T>): Field<T | undefined>;
export function optional<T>(field: Field<T>, fallback: T): Field<T>;
export function optional<T>(field: Field<T>, fallback?: T): Field<T | undefined> {
  const base = typeof field.describe === 'string' ? field.describe : 'object';
  return {
    optional: true,
    describe:
      typeof field.describe === 'string'
        ? `${base}, optional${fallback !== undefined ? `, default ${JSON.stringify(fallback)}` : ''}`
        : { optional: true, ...field.describe },
    check: (value, path) => (value === undefined ? { ok: true, value: fallback } : field.check(value, path)),
  };
}

type Shape = Record<string, Field<unknown>>;
export type ObjectOf<S extends Shape> = { [K in keyof S]: Infer<S[K]> };

/**
 * A plain object with exactly these fields (unknown fields are refused: a
 * typo such as `widht` should not silently fall back to a default). `rules`
 * check the fields together, once each one is valid on its own.
 */
export function object<S extends Shape>(
  shape: S,
  rules: ReadonlyArray<(value: ObjectOf<S>) => string | undefined> = [],
): Field<ObjectOf<S>> {
  return {
    optional: false,
    describe: Object.fromEntries(Object.entries(shape).map(([key, field]) => [key, field.describe])),
    check: (value, path) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return fail(path, `must be a JSON object, got ${Array.isArray(value) ? 'an array' : shown(value)}`);
      }
      const input = value as Record<string, unknown>;
      const issues: Issue[] = [];
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(input)) {
        if (!Object.hasOwn(shape, key))
          issues.push({
            path: [...path, key],
            message: `is not a known field (known: ${Object.keys(shape).join(', ')})`,
          });
      }
      for (const [key, field] of Object.entries(shape)) {
        const raw = input[key];
        if (raw === undefined && !field.optional) {
          issues.push({
            path: [...path, key],
            message: `is required (${typeof field.describe === 'string' ? field.describe : 'an object'})`,
          });
          continue;
        }
        const checked = field.check(raw, [...path, key]);
        if (checked.ok) {
          if (checked.value !== undefined) out[key] = checked.value;
        } else issues.push(...checked.issues);
      }
      if (issues.length > 0) return { ok: false, issues };
      for (const rule of rules) {
        const problem = rule(out as ObjectOf<S>);
        if (problem) issues.push({ path, message: problem });
      }
      return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out as ObjectOf<S> };
    },
  };
}

/** A payload schema: Standard Schema for `@Task({ schema })`, plus a description for `GET /tasks`. */
export interface PayloadSchema<T> extends StandardSchemaLike<T> {
  readonly describe: Field<T>['describe'];
}

export function payloadSchema<T>(field: Field<T>): PayloadSchema<T> {
  return {
    describe: field.describe,
    '~standard': {
      version: 1,
      vendor: 'nestjs-worker-sample',
      validate: (value: unknown): StandardSchemaResult<T> => {
        const checked = field.check(value, []);
        return checked.ok ? { value: checked.value } : { issues: checked.issues };
      },
    },
  };
}

/** `"pattern.width: must be ..."` */
export function formatIssue(issue: {
  message: string;
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
}): string {
  const path = (issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
  return path ? `${path}: ${issue.message}` : `payload ${issue.message}`;
}
