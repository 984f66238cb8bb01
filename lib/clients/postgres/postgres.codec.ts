import { randomUUID } from 'node:crypto';
import { Messages } from '../../errors/error-messages.js';
import type { SerializedTaskError } from '../../interfaces/serialized-error.interface.js';
import type { TaskEnvelope, TaskFailureReason, TaskOutcome } from '../../interfaces/task-client.interface.js';
import type { TaskRecord, TaskState } from '../in-memory.task-client.js';
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
}

export type Decoded = { ok: true; value: unknown } | { ok: false; problem: string };

/**
 * JSON text of a payload or a result; `undefined` (SQL NULL) for `undefined`.
 * Throws what JSON.stringify throws (BigInt, cycles). JSON.stringify escapes
 * control characters and lone surrogates, so the text always fits a text column.
 */
export function toJsonText(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * An error as JSON text for a jsonb column. jsonb refuses `\u0000` and lone
 * surrogates, and an outcome batch that fails to insert would be retried
 * forever, holding up every outcome behind it: such characters become U+FFFD.
 * Never throws (a BigInt becomes a string, anything else unencodable drops to
 * name and message).
 */
export function errorJson(error: SerializedTaskError): string {
  const replacer = (_key: string, value: unknown) => {
    if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
    if (typeof value === 'bigint') return value.toString();
    return value;
  };
  try {
    return JSON.stringify(error, replacer);
  } catch {
    return JSON.stringify({ name: String(error?.name ?? 'Error'), message: String(error?.message ?? '') }, replacer);
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
  };
}

const INT4_MAX = 2_147_483_647;

export type EnqueueInput = { name: string; payload?: unknown } & PostgresEnqueueOptions;

/** One row for the enqueue statement: id, name, payload, priority, max attempts, delay. */
export type EnqueueRow = [
  id: string,
  name: string,
  payload: string | null,
  priority: number,
  maxAttempts: number | null,
  delayMs: number,
];

/** Checks one task given to `enqueue()`; throws a TypeError that says what is wrong before anything is written. */
export function encodeTask(task: EnqueueInput): EnqueueRow {
  const bad = (problem: string) => new TypeError(Messages.pgEnqueue(problem));
  if (typeof task?.name !== 'string' || task.name === '')
    throw bad(`the task name must be a non-empty string, got ${JSON.stringify(task?.name)}`);
  const { delayMs = 0, priority = 0, maxAttempts, id = randomUUID() } = task;
  if (typeof id !== 'string' || id === '') throw bad(`"id" must be a non-empty string, got ${JSON.stringify(id)}`);
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)
    throw bad(`"delayMs" must be a number of milliseconds >= 0, got ${String(delayMs)}`);
  if (!Number.isInteger(priority) || Math.abs(priority) > INT4_MAX)
    throw bad(`"priority" must be an integer between -${INT4_MAX} and ${INT4_MAX}, got ${String(priority)}`);
  if (maxAttempts !== undefined && (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > INT4_MAX)) {
    throw bad(`"maxAttempts" must be a positive integer, got ${String(maxAttempts)}`);
  }
  let payload: string | undefined;
  try {
    payload = toJsonText(task.payload);
  } catch (error) {
    throw bad(
      `the payload of task "${task.name}" cannot be written as JSON (${(error as Error).message}); pass JSON-compatible data`,
    );
  }
  return [id, task.name, payload ?? null, priority, maxAttempts ?? null, delayMs];
}

/** The enqueue statement's array parameters (one per column), after the queue. */
export function enqueueColumns(rows: readonly EnqueueRow[]): unknown[][] {
  return [0, 1, 2, 3, 4, 5].map((column) => rows.map((row) => row[column]));
}

/**
 * Outcomes as the settle statement's array parameters, column-wise per kind:
 * completed (id, token, result), failed (id, token, error, reason), retry
 * (id, token, error, next attempt, delay), released (id, token). Outcomes of
 * tasks not delivered by this client (no string receipt) are left out.
 */
export function settleColumns(
  outcomes: readonly TaskOutcome[],
  resultNotJson: (task: TaskEnvelope, reason: string) => void,
): { columns: unknown[][]; sent: number } {
  const c: unknown[][] = [[], [], []];
  const f: unknown[][] = [[], [], [], []];
  const r: unknown[][] = [[], [], [], [], []];
  const l: unknown[][] = [[], []];
  const add = (columns: unknown[][], values: unknown[]) => values.forEach((value, i) => columns[i]!.push(value));
  let sent = 0;
  for (const outcome of outcomes) {
    const { task } = outcome;
    if (typeof task.receipt !== 'string') continue;
    sent++;
    switch (outcome.status) {
      case 'completed': {
        let json: string | undefined;
        try {
          json = toJsonText(outcome.result);
        } catch (error) {
          resultNotJson(task, (error as Error).message);
        }
        add(c, [task.id, task.receipt, json ?? null]);
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
        add(l, [task.id, task.receipt]);
        break;
    }
  }
  return { columns: [...c, ...f, ...r, ...l], sent };
}
