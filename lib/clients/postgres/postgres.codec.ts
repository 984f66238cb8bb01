import { randomUUID } from 'node:crypto';
import type { SerializedTaskError } from '../../interfaces/serialized-error.interface.js';
import type { TaskEnvelope, TaskFailureReason, TaskOutcome } from '../../interfaces/task-client.interface.js';
import type { DeadLetter, TaskRecord, TaskState } from '../../interfaces/task-store.interface.js';
import { captureTraceContext } from '../../common/trace-context.hooks.js';
import { checkEnqueue, payloadJson } from '../kit/enqueue.validator.js';
import { encodeJson, errorJson } from '../kit/json.encoder.js';
import type { PostgresEnqueueOptions } from './postgres-task-client-options.interface.js';

/** Encodings of the `payload` column this client can read. Rows with any other are dead-lettered. */
export const PAYLOAD_ENCODINGS = ['json'] as const;

/** A row as `claim` returns it. */
export interface ClaimedRow {
  id: string;
  name: string;
  payload: string | null;
  encoding: string;
  attempt: number;
  max_attempts: number | null;
  priority: number;
  seq: number;
  enqueued_at: number;
  run_at: number;
  token: string;
  /** Absent from a claim of schema version 2. */
  trace_context?: string | null;
  /** Absent from a claim of schema version 3. */
  concurrency_key?: string | null;
}

/** A row as `get` returns it. */
export interface RecordRow {
  id: string;
  name: string;
  payload: string | null;
  encoding: string;
  state: Exclude<TaskState, 'delayed'>;
  later: boolean;
  attempt: number;
  max_attempts: number | null;
  priority: number;
  enqueued_at: number;
  run_at: number;
  result: string | null;
  errors: string;
  failure_reason: TaskFailureReason | null;
  finished_at: number | null;
  progress: string | null;
  unique_key: string | null;
  concurrency_key: string | null;
}

/** A row as `deadLetters` returns it. */
export interface DeadLetterRow {
  id: string;
  name: string;
  payload: string | null;
  encoding: string;
  attempt: number;
  failure_reason: TaskFailureReason | null;
  errors: string;
  finished_at: number | null;
}

export type Decoded = { ok: true; value: unknown } | { ok: false; problem: string };

export function decodePayload(text: string | null, encoding: string): Decoded {
  if (!(PAYLOAD_ENCODINGS as readonly string[]).includes(encoding)) {
    return {
      ok: false,
      problem: `its payload_encoding "${encoding}" is not one this client reads (${PAYLOAD_ENCODINGS.map((e) => `"${e}"`).join(', ')})`,
    };
  }
  if (text === null) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, problem: `its payload is not valid JSON (${(error as Error).message})` };
  }
}

export function toEnvelope(row: ClaimedRow, payload: unknown): TaskEnvelope {
  return {
    id: row.id,
    name: row.name,
    payload,
    attempt: row.attempt,
    ...(row.max_attempts !== null ? { maxAttempts: row.max_attempts } : {}),
    enqueuedAt: row.enqueued_at,
    receipt: row.token,
    ...(typeof row.trace_context === 'string' ? { traceContext: row.trace_context } : {}),
    ...(typeof row.concurrency_key === 'string' ? { concurrencyKey: row.concurrency_key } : {}),
  };
}

/** Claim order, as the SQL ORDER BY (RETURNING does not keep it). */
export function claimOrder(a: ClaimedRow, b: ClaimedRow): number {
  return b.priority - a.priority || a.run_at - b.run_at || a.seq - b.seq;
}

export function toRecord<R>(row: RecordRow): TaskRecord<R> {
  const payload = decodePayload(row.payload, row.encoding);
  let result: unknown;
  try {
    result = row.result === null ? undefined : JSON.parse(row.result);
  } catch {
    result = row.result;
  }
  return {
    id: row.id,
    name: row.name,
    // An undecodable payload is shown as stored, to see what was wrong with it.
    payload: payload.ok ? payload.value : row.payload,
    state: row.state === 'queued' && row.later ? 'delayed' : row.state,
    attempt: row.attempt,
    ...(row.max_attempts !== null ? { maxAttempts: row.max_attempts } : {}),
    priority: row.priority,
    enqueuedAt: row.enqueued_at,
    runAt: row.run_at,
    ...(result !== undefined ? { result: result as R } : {}),
    errors: JSON.parse(row.errors) as SerializedTaskError[],
    ...(row.failure_reason !== null ? { failureReason: row.failure_reason } : {}),
    ...(row.finished_at !== null ? { finishedAt: row.finished_at } : {}),
    ...(row.progress !== null ? { progress: parseOr(row.progress) } : {}),
    ...(row.unique_key !== null ? { uniqueKey: row.unique_key } : {}),
    ...(row.concurrency_key !== null ? { concurrencyKey: row.concurrency_key } : {}),
  };
}

/** JSON text parsed, or the text itself when it is not JSON (written by another tool). */
function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function toDeadLetter(row: DeadLetterRow): DeadLetter {
  const payload = decodePayload(row.payload, row.encoding);
  const errors = JSON.parse(row.errors) as SerializedTaskError[];
  return {
    id: row.id,
    name: row.name,
    payload: payload.ok ? payload.value : row.payload,
    attempt: row.attempt,
    reason: row.failure_reason ?? 'error',
    error: errors[errors.length - 1] ?? { name: 'Error', message: '' },
    errors,
    failedAt: row.finished_at ?? 0,
  };
}

export type EnqueueInput = { name: string; payload?: unknown } & PostgresEnqueueOptions;

/**
 * One row for the enqueue statements: id, name, payload, priority, max
 * attempts, delay, trace context, unique key, concurrency key (the columns
 * sent, in order); then whether a duplicate of its unique key replaces the
 * waiting task, and whether its id was given (a generated one cannot exist).
 */
export type EnqueueRow = [
  id: string,
  name: string,
  payload: string | null,
  priority: number,
  maxAttempts: number | null,
  delayMs: number,
  traceContext: string | null,
  uniqueKey: string | null,
  concurrencyKey: string | null,
  replace: boolean,
  explicitId: boolean,
];

/** Columns of EnqueueRow sent to the enqueue statements. */
export const ENQUEUE_COLUMNS = 9;

/** Checks one task given to `enqueue()` (see checkEnqueue) and turns it into a row; throws before anything is written. */
export function encodeTask(task: EnqueueInput, index?: number): EnqueueRow {
  const checked = checkEnqueue('PostgresTaskClient', task, index);
  const payload = payloadJson('PostgresTaskClient', checked, index);
  const { id, name, priority, maxAttempts, delayMs, uniqueKey, concurrencyKey, onDuplicate } = checked;
  return [
    id ?? randomUUID(),
    name,
    payload ?? null,
    priority,
    maxAttempts ?? null,
    delayMs,
    captureTraceContext() ?? null,
    uniqueKey ?? null,
    concurrencyKey ?? null,
    onDuplicate === 'replace',
    id !== undefined,
  ];
}

/** The enqueue statements' array parameters (one per column), after the queue; `replace` too when asked. */
export function enqueueColumns(rows: readonly EnqueueRow[], withReplace = false): unknown[][] {
  const count = withReplace ? ENQUEUE_COLUMNS + 1 : ENQUEUE_COLUMNS;
  return Array.from({ length: count }, (_, column) => rows.map((row) => row[column]));
}

/**
 * Outcomes as the settle statement's array parameters, column-wise per kind:
 * completed (id, token, result), failed (id, token, error, reason), retry
 * (id, token, error, next attempt, delay), released (id, token, delay),
 * cancelled (id, token). Outcomes of tasks not delivered by this client (no
 * string receipt) are left out.
 */
export function settleColumns(
  outcomes: readonly TaskOutcome[],
  resultNotJson: (task: TaskEnvelope, reason: string) => void,
): { columns: unknown[][]; sent: number } {
  const c: unknown[][] = [[], [], []];
  const f: unknown[][] = [[], [], [], []];
  const r: unknown[][] = [[], [], [], [], []];
  const l: unknown[][] = [[], [], []];
  const x: unknown[][] = [[], []];
  const add = (columns: unknown[][], values: unknown[]) => values.forEach((value, i) => columns[i]!.push(value));
  let sent = 0;
  for (const outcome of outcomes) {
    const { task } = outcome;
    if (typeof task.receipt !== 'string') continue;
    sent++;
    switch (outcome.status) {
      case 'completed': {
        const json = encodeJson(outcome.result);
        if (!json.ok) resultNotJson(task, json.problem);
        add(c, [task.id, task.receipt, json.ok ? (json.text ?? null) : null]);
        break;
      }
      case 'failed':
        add(f, [task.id, task.receipt, errorJson(outcome.error), outcome.reason]);
        break;
      case 'retry':
        // The delay, not runAt: run_at is computed on the database clock, so
        // workers' clocks need not agree with it or with each other.
        add(r, [task.id, task.receipt, errorJson(outcome.error), outcome.nextAttempt, Math.max(0, outcome.delayMs)]);
        break;
      case 'released':
        // Also a delay, not a time: over a rate limit, or its key busy.
        add(l, [task.id, task.receipt, delayOf(outcome.delayMs)]);
        break;
      case 'cancelled':
        add(x, [task.id, task.receipt]);
        break;
    }
  }
  return { columns: [...c, ...f, ...r, ...l, ...x], sent };
}

/** A delay the statements can add to now(): a finite number of milliseconds >= 0, anything else 0. */
function delayOf(ms: number | undefined): number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : 0;
}
