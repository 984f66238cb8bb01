import { shown } from '../../common/option-checks.js';
import { Messages } from '../../errors/error-messages.js';
import { encodeJson } from './json.encoder.js';

/**
 * Largest PostgreSQL `integer`. Priorities and attempt limits are held to it
 * on every client, so a task one client accepts, every client accepts.
 */
export const INT4_MAX = 2_147_483_647;

/** The options every client's `enqueue()` takes. */
export interface EnqueueFields {
  id?: string;
  delayMs?: number;
  priority?: number;
  maxAttempts?: number;
  uniqueKey?: string;
  onDuplicate?: 'keep' | 'replace';
  concurrencyKey?: string;
}

/** One task as `enqueue()` / `enqueueMany()` were given it, after `checkEnqueue()`. */
export interface CheckedTask {
  readonly name: string;
  readonly payload: unknown;
  /** `undefined`: the client generates one. */
  readonly id: string | undefined;
  readonly delayMs: number;
  readonly priority: number;
  readonly maxAttempts: number | undefined;
  /** `undefined`: no key. */
  readonly uniqueKey: string | undefined;
  /** `'keep'` unless given (only meaningful with `uniqueKey`). */
  readonly onDuplicate: 'keep' | 'replace';
  readonly concurrencyKey: string | undefined;
}

/** Longest `uniqueKey` / `concurrencyKey`, in UTF-16 units: a key is an index entry, not a payload. */
export const MAX_KEY_LENGTH = 512;

/**
 * Checks one task given to `<client>.enqueue()` before anything is written,
 * and throws a TypeError naming the task (and its index in `enqueueMany()`),
 * the field and what was wrong with it.
 */
export function checkEnqueue(client: string, task: unknown, index?: number): CheckedTask {
  const at = index === undefined ? '' : `tasks[${index}]: `;
  const refuse = (problem: string) => new TypeError(Messages.enqueueRefused(client, at + problem));
  if (task === null || typeof task !== 'object') {
    throw refuse(`each task must be an object with a "name", got ${shown(task)}`);
  }
  const {
    name,
    payload,
    id,
    delayMs = 0,
    priority = 0,
    maxAttempts,
    uniqueKey,
    onDuplicate,
    concurrencyKey,
  } = task as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') {
    throw refuse(`the task name must be a non-empty string, got ${shown(name)}`);
  }
  const bad = (field: string, rule: string, value: unknown) =>
    refuse(`task ${shown(name)}: "${field}" must be ${rule}, got ${shown(value)}`);
  if (id !== undefined && (typeof id !== 'string' || id === '')) {
    throw bad('id', 'a non-empty string (or left out for a generated one)', id);
  }
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    throw bad('delayMs', 'a number of milliseconds >= 0', delayMs);
  }
  if (typeof priority !== 'number' || !Number.isInteger(priority) || Math.abs(priority) > INT4_MAX) {
    throw bad('priority', `an integer from -${INT4_MAX} to ${INT4_MAX}`, priority);
  }
  if (
    maxAttempts !== undefined &&
    (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > INT4_MAX)
  ) {
    throw bad('maxAttempts', `a whole number of attempts from 1 to ${INT4_MAX}`, maxAttempts);
  }
  const key = `a non-empty string of at most ${MAX_KEY_LENGTH} characters (or left out)`;
  const badKey = (value: unknown) =>
    value !== undefined && (typeof value !== 'string' || value === '' || value.length > MAX_KEY_LENGTH);
  if (badKey(uniqueKey)) throw bad('uniqueKey', key, uniqueKey);
  if (badKey(concurrencyKey)) throw bad('concurrencyKey', key, concurrencyKey);
  if (onDuplicate !== undefined) {
    if (onDuplicate !== 'keep' && onDuplicate !== 'replace')
      throw bad('onDuplicate', `'keep' or 'replace'`, onDuplicate);
    if (uniqueKey === undefined) {
      throw refuse(`task ${shown(name)}: "onDuplicate" only applies with a "uniqueKey"; give the task a uniqueKey`);
    }
  }
  return {
    name,
    payload,
    id: id as string | undefined,
    delayMs,
    priority,
    maxAttempts: maxAttempts as number | undefined,
    uniqueKey: uniqueKey as string | undefined,
    onDuplicate: (onDuplicate as 'keep' | 'replace' | undefined) ?? 'keep',
    concurrencyKey: concurrencyKey as string | undefined,
  };
}

/**
 * The payload as JSON text (`undefined` for none), exactly as given: a
 * payload JSON cannot carry (BigInt, a cycle, a getter that throws) is
 * refused at enqueue rather than changed, since the handler would get
 * something other than what was sent.
 */
export function payloadJson(client: string, task: CheckedTask, index?: number): string | undefined {
  const encoded = encodeJson(task.payload);
  if (encoded.ok) return encoded.text;
  const at = index === undefined ? '' : `tasks[${index}]: `;
  throw new TypeError(
    Messages.enqueueRefused(
      client,
      `${at}the payload of task ${shown(task.name)} cannot be written as JSON (${encoded.problem}); pass JSON-compatible data`,
    ),
  );
}
