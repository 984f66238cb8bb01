import type { SerializedTaskError } from '../../interfaces/serialized-error.interface.js';
import type { TaskEnvelope, TaskFailureReason, TaskOutcome } from '../../interfaces/task-client.interface.js';
import type { TaskRecord, TaskState } from '../../interfaces/task-store.interface.js';
import { checkEnqueue, payloadJson } from '../kit/enqueue.validator.js';
import { logText } from '../../common/log-text.js';
import { captureTraceContext } from '../../common/trace-context.hooks.js';
import { Messages } from '../../errors/error-messages.js';
import { encodeJson, errorJson } from '../kit/json.encoder.js';
import type { RedisDeadLetter, RedisEnqueueOptions } from './redis-task-client-options.interface.js';
import type { Band } from './redis.keys.js';
import { ATTEMPT_SLOT } from './scripts/apply.lua.js';

/** What the client needs back from a delivery: where the entry is, and the delivery count that fences its outcome. */
export interface RedisReceipt {
  readonly band: Band;
  readonly entryId: string;
  readonly deliveries: number;
}

/** A stream entry as ioredis returns it: id and flat [field, value, ...]. */
export type RawEntry = readonly [band: Band, entryId: string, deliveries: number, fields: readonly string[]];

/**
 * A delivered entry: its envelope as of the entry (a takeover's attempt is
 * decided by the script that records it), or why it cannot be run.
 */
export type Decoded =
  | { ok: true; envelope: TaskEnvelope & { receipt: RedisReceipt } }
  | { ok: false; receipt: RedisReceipt; taskId: string; name: string; problem: string };

/**
 * Fields a task entry may have: ours have at most six; another producer may
 * add some of its own. An entry with thousands is not a task (and would be
 * more than Lua can pass to one command if copied whole).
 */
export const MAX_ENTRY_FIELDS = 1000;

/** A traceparent and a W3C-sized tracestate fit; anything longer is not a trace context. */
const MAX_TRACE_CONTEXT = 600;

export function fieldMap(flat: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}

const positiveInt = (text: string | undefined) =>
  text !== undefined && /^[1-9]\d{0,8}$/.test(text) ? Number(text) : undefined;

/** Turns a delivered entry into an envelope with the entry's attempt, or says why it cannot be run. */
export function decodeEntry([band, entryId, deliveries, flat]: RawEntry): Decoded {
  const receipt: RedisReceipt = { band, entryId, deliveries: Number(deliveries) };
  const fields = fieldMap(flat);
  const taskId = fields.id || entryId;
  const name = fields.name ?? '';
  const bad = (problem: string): Decoded => ({ ok: false, receipt, taskId, name, problem });
  if (flat.length > 2 * MAX_ENTRY_FIELDS)
    return bad(`it has ${Math.floor(flat.length / 2)} fields, more than the ${MAX_ENTRY_FIELDS} a task entry may have`);
  if (!name) return bad('it has no "name" field');
  if (fields.payload === undefined) return bad('it has no "payload" field');
  let payload: unknown;
  try {
    payload = JSON.parse(fields.payload);
  } catch (error) {
    return bad(`its "payload" is not valid JSON (${logText((error as Error).message)})`);
  }
  const entryAttempt = fields.attempt === undefined ? 1 : positiveInt(fields.attempt);
  if (entryAttempt === undefined)
    return bad(`its "attempt" (${logText(fields.attempt, 40)}) is not a positive integer`);
  const maxAttempts = fields.maxAttempts === undefined ? undefined : positiveInt(fields.maxAttempts);
  if (fields.maxAttempts !== undefined && maxAttempts === undefined)
    return bad(`its "maxAttempts" (${logText(fields.maxAttempts, 40)}) is not a positive integer`);
  const enqueuedAt = Number(fields.enqueuedAt ?? entryId.split('-')[0]);
  return {
    ok: true,
    envelope: {
      id: taskId,
      name,
      payload,
      attempt: entryAttempt,
      ...(maxAttempts !== undefined ? { maxAttempts } : {}),
      ...(Number.isFinite(enqueuedAt) ? { enqueuedAt } : {}),
      // Read as text only; telemetry checks it is a trace context (a foreign producer may write anything).
      ...(fields.trace !== undefined && fields.trace.length <= MAX_TRACE_CONTEXT ? { traceContext: fields.trace } : {}),
      ...(fields.concurrencyKey ? { concurrencyKey: fields.concurrencyKey } : {}),
      receipt,
    },
  };
}

function parseLoose(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function parseErrors(text: string | undefined): SerializedTaskError[] {
  const parsed = parseLoose(text);
  return Array.isArray(parsed) ? (parsed as SerializedTaskError[]) : [];
}

/** A record hash (HGETALL) as the in-memory client's `TaskRecord`. */
export function toRecord<R>(id: string, hash: Record<string, string>): TaskRecord<R> | undefined {
  if (!hash.state) return undefined;
  const num = (key: string) => (hash[key] === undefined ? undefined : Number(hash[key]));
  const errors = Object.keys(hash)
    .filter((key) => key.startsWith('err:'))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
    .map((key) => parseLoose(hash[key]) as SerializedTaskError);
  return {
    id,
    name: hash.name ?? '',
    payload: parseLoose(hash.payload),
    state: hash.state as TaskState,
    attempt: num('attempt') ?? 1,
    ...(hash.maxAttempts !== undefined ? { maxAttempts: num('maxAttempts') } : {}),
    priority: num('priority') ?? 0,
    enqueuedAt: num('enqueuedAt') ?? 0,
    runAt: num('runAt') ?? num('enqueuedAt') ?? 0,
    ...(hash.result !== undefined ? { result: parseLoose(hash.result) as R } : {}),
    errors,
    ...(hash.failureReason !== undefined ? { failureReason: hash.failureReason as TaskFailureReason } : {}),
    ...(hash.finishedAt !== undefined ? { finishedAt: num('finishedAt') } : {}),
    ...(hash.progress !== undefined ? { progress: parseLoose(hash.progress) } : {}),
    ...(hash.uniqueKey !== undefined ? { uniqueKey: hash.uniqueKey } : {}),
    ...(hash.concurrencyKey !== undefined ? { concurrencyKey: hash.concurrencyKey } : {}),
  };
}

export function toDeadLetter(entryId: string, flat: readonly string[]): RedisDeadLetter {
  const fields = fieldMap(flat);
  return {
    entryId,
    id: fields.id ?? '',
    name: fields.name ?? '',
    payload: parseLoose(fields.payload),
    attempt: Number(fields.attempt ?? 1),
    reason: fields.reason as TaskFailureReason,
    error: parseLoose(fields.error) as SerializedTaskError,
    errors: parseErrors(fields.errors),
    failedAt: Number(fields.failedAt ?? entryId.split('-')[0]),
    fields,
  };
}

export type EnqueueInput = { name: string; payload?: unknown } & RedisEnqueueOptions;

/**
 * ENQUEUE's values for one task (see scripts/enqueue-core.lua.ts): id, name,
 * payload JSON, maxAttempts ('' for none), priority, delay, trace context,
 * unique key, onDuplicate, concurrency key ('' for none). Throws before
 * anything is written when the task is not valid (see checkEnqueue).
 */
export function enqueueArgs(task: EnqueueInput, newId: () => string, index?: number): Array<string | number> {
  const checked = checkEnqueue('RedisTaskClient', task, index);
  const payload = payloadJson('RedisTaskClient', checked, index) ?? 'null';
  const { id = newId(), name, maxAttempts, priority, delayMs, uniqueKey, onDuplicate, concurrencyKey } = checked;
  return [
    id,
    name,
    payload,
    maxAttempts ?? '',
    priority,
    Math.round(delayMs),
    captureTraceContext() ?? '',
    uniqueKey ?? '',
    onDuplicate,
    concurrencyKey ?? '',
  ];
}

/** One fenced operation on a delivered entry, as APPLY takes it (see scripts/apply.lua.ts). */
export type Op = readonly [
  op:
    | 'run'
    | 'takeover'
    | 'started'
    | 'completed'
    | 'failed'
    | 'retry'
    | 'released'
    | 'cancelled'
    | 'progress'
    | 'extend',
  band: Band,
  entryId: string,
  deliveries: number,
  taskId: string,
  attempt: number,
  x: string | number,
  y: string | number,
  z: string | number,
];

/**
 * The error recorded for an attempt whose lease ran out, with ATTEMPT_SLOT
 * where the script writes the attempt's number (only the script knows it:
 * a lost delivery that never started is not an attempt).
 */
export function leaseExpiredTemplate(name: string, leaseMs: number): string {
  return errorJson({
    name: 'LeaseExpiredError',
    code: 'ERR_WORKER_LEASE_EXPIRED',
    message: Messages.leaseExpired(name, ATTEMPT_SLOT, leaseMs),
    props: { taskName: name },
  });
}

/** An op on the entry of `receipt`, fenced by its delivery count. */
export function opOn(
  op: Op[0],
  r: RedisReceipt,
  taskId: string,
  attempt: number,
  x: string | number = '',
  y: string | number = '',
  z: string | number = '',
): Op {
  return [op, r.band, r.entryId, r.deliveries, taskId, attempt, x, y, z];
}

/**
 * The op that records an outcome; undefined for a task this client did not
 * deliver. Never throws: a result JSON cannot hold is reported and stored as
 * none, and errors go through errorJson (bounded, lossy), because a publish
 * that throws is retried forever with every later outcome behind it.
 */
export function outcomeOp(outcome: TaskOutcome, resultNotJson: (task: TaskEnvelope, reason: string) => void) {
  const { task } = outcome;
  const r = task.receipt as RedisReceipt | undefined;
  if (!r || typeof r.entryId !== 'string') return undefined;
  switch (outcome.status) {
    case 'completed': {
      const json = encodeJson(outcome.result);
      if (!json.ok) resultNotJson(task, json.problem);
      const text = json.ok ? json.text : undefined;
      return opOn('completed', r, task.id, task.attempt, text ?? '', text === undefined ? '0' : '1');
    }
    case 'failed':
      return opOn('failed', r, task.id, task.attempt, outcome.reason, errorJson(outcome.error));
    case 'retry': {
      const delay = Math.max(0, Math.round(outcome.delayMs));
      return opOn('retry', r, task.id, task.attempt, outcome.nextAttempt, delay, errorJson(outcome.error));
    }
    case 'released':
      return opOn('released', r, task.id, task.attempt, Math.max(0, Math.round(outcome.delayMs ?? 0)) || 0);
    case 'cancelled':
      return opOn('cancelled', r, task.id, task.attempt);
  }
}
