import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import { findUncloneable } from './cloneability.checker.js';
import { WORKER_ERROR_CLASSES } from '../errors/worker.errors.js';

const RESERVED = new Set(['name', 'message', 'stack', 'code', 'cause', 'retryable']);
const MAX_CAUSE_DEPTH = 8;

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * Turns anything a handler threw into plain data. Keeps name, message, stack,
 * code, the `cause` chain and every own property that can cross a thread
 * (others are described as a string rather than dropped silently).
 */
export function serializeError(thrown: unknown, depth = 0): SerializedTaskError {
  if (thrown === null || typeof thrown !== 'object') {
    return {
      name: 'Error',
      message: typeof thrown === 'string' ? thrown : `A non-error value was thrown: ${String(thrown)}`,
      props: { thrown: typeof thrown === 'function' || typeof thrown === 'symbol' ? String(thrown) : thrown },
    };
  }
  const err = thrown as Record<string, unknown>;
  const out: SerializedTaskError = {
    name: typeof err.name === 'string' ? err.name : 'Error',
    message: typeof err.message === 'string' ? err.message : String(err.message ?? ''),
  };
  if (typeof err.stack === 'string') out.stack = err.stack;
  if (typeof err.code === 'string' || typeof err.code === 'number') out.code = err.code;
  if (err.retryable === false) out.retryable = false;
  let props: Record<string, unknown> | undefined;
  for (const key of Object.keys(err)) {
    if (RESERVED.has(key)) continue;
    const value = err[key];
    props ??= {};
    props[key] = findUncloneable(value, key) ? `[not cloneable: ${describe(value)}]` : value;
  }
  if (thrown instanceof AggregateError) {
    props ??= {};
    props.errors = thrown.errors.map((e) => serializeError(e, depth + 1));
  }
  if (props) out.props = props;
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/**
 * Rebuilds an `Error` from its serialized form: same name, message, stack and
 * own properties; the class is ours when it was one of ours (so `instanceof
 * TaskTimeoutError` works), else the matching built-in, else `Error`.
 */
export function deserializeError(data: SerializedTaskError): Error {
  const cause = data.cause ? deserializeError(data.cause) : undefined;
  const nested = data.props?.errors;
  let error: Error;
  if (data.name === 'AggregateError' && Array.isArray(nested)) {
    error = new AggregateError(
      nested.map((e) => deserializeError(e as SerializedTaskError)),
      data.message,
    );
  } else {
    const Ctor = WORKER_ERROR_CLASSES[data.name] ?? BUILTIN_ERRORS[data.name] ?? Error;
    // Our classes have constructors with other arguments: build without running them.
    error =
      Ctor === BUILTIN_ERRORS[data.name] || Ctor === Error ? new Ctor(data.message) : Object.create(Ctor.prototype);
  }
  define(error, 'message', data.message);
  define(error, 'name', data.name);
  if (data.stack !== undefined) define(error, 'stack', data.stack);
  if (cause !== undefined) define(error, 'cause', cause);
  const target = error as unknown as Record<string, unknown>;
  if (data.code !== undefined) target.code = data.code;
  if (data.retryable === false) target.retryable = false;
  if (data.props) {
    for (const [key, value] of Object.entries(data.props)) {
      if (key === 'errors' && error instanceof AggregateError) continue;
      target[key] = value;
    }
  }
  return error;
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: true, configurable: true });
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (value !== null && typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}
