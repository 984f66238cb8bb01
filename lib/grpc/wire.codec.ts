import { Messages } from '../errors/error-messages.js';
import { encodeJson, errorJson } from '../clients/kit/json.encoder.js';
import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type {
  PermitAnswer,
  PermitRequest,
  ProgressUpdate,
  RegisteredTask,
  TaskEnvelope,
  TaskFailureReason,
  TaskOutcome,
} from '../interfaces/task-client.interface.js';
import type { EnqueueTask, ScheduleFire } from '../interfaces/task-store.interface.js';

/**
 * The messages of task_service.proto as @grpc/proto-loader hands them over
 * (keepCase, defaults, longs as numbers, enums as names), and their
 * conversion from and to the library's shapes. JSON travels as UTF-8 bytes;
 * an empty field stands for `undefined`.
 */
export interface WireDelivery {
  id: string;
  name: string;
  payload: Uint8Array;
  attempt: number;
  max_attempts: number;
  enqueued_at: number;
  receipt: Uint8Array;
  concurrency_key: string;
  trace_context: string;
}

export type WireStatus = 'STATUS_UNSPECIFIED' | 'COMPLETED' | 'FAILED' | 'RETRY' | 'RELEASED' | 'CANCELLED';

export interface WireOutcome {
  task: WireDelivery;
  status: WireStatus;
  result: Uint8Array;
  duration_ms: number;
  reason: string;
  error: Uint8Array;
  next_attempt: number;
  delay_ms: number;
  run_at: number;
  started: boolean;
}

export interface WireRegisteredTask {
  name: string;
  max_attempts: number;
  rate_limit_max: number;
  rate_limit_interval_ms: number;
  concurrency_per_key: number;
}

export interface WireEnqueueTask {
  name: string;
  payload: Uint8Array;
  id: string;
  delay_ms: number;
  priority: number;
  max_attempts: number;
  unique_key: string;
  on_duplicate: string;
  concurrency_key: string;
}

export interface WireProgressUpdate {
  task: WireDelivery;
  value: Uint8Array;
}

export interface WirePermitRequest {
  task: WireDelivery;
  rate_limit_max: number;
  rate_limit_interval_ms: number;
  concurrency_per_key: number;
}

export interface WirePermitAnswer {
  granted: boolean;
  retry_after_ms: number;
}

export interface WireScheduleFire {
  key: string;
  tick: number;
  task: WireEnqueueTask;
  when_new: string;
}

const EMPTY = Buffer.alloc(0);

/** JSON text as bytes; `undefined` as empty bytes. */
export function textBytes(text: string | undefined): Buffer {
  return text === undefined ? EMPTY : Buffer.from(text, 'utf8');
}

/** The value of JSON bytes; `undefined` for empty bytes. Throws a SyntaxError for anything else that is not JSON. */
export function parseBytes(bytes: Uint8Array | undefined): unknown {
  if (!bytes || bytes.length === 0) return undefined;
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

/**
 * A delivery as the server sends it: the store's receipt goes out as JSON,
 * opaque to the worker, and comes back unchanged with everything the worker
 * says about the delivery, so the store's own fencing decides.
 */
export function deliveryToWire(task: TaskEnvelope, payloadText: string | undefined): WireDelivery {
  return {
    id: task.id,
    name: task.name,
    payload: textBytes(payloadText),
    attempt: task.attempt,
    max_attempts: task.maxAttempts ?? 0,
    enqueued_at: task.enqueuedAt ?? 0,
    receipt: task.receipt === undefined ? EMPTY : Buffer.from(JSON.stringify(task.receipt), 'utf8'),
    concurrency_key: task.concurrencyKey ?? '',
    trace_context: task.traceContext ?? '',
  };
}

/** The envelope fields that travel as optional strings (empty: absent). */
function optionalFields(wire: WireDelivery): Pick<TaskEnvelope, 'concurrencyKey' | 'traceContext'> {
  return {
    ...(wire.concurrency_key ? { concurrencyKey: wire.concurrency_key } : {}),
    ...(wire.trace_context ? { traceContext: wire.trace_context } : {}),
  };
}

/** A delivery as the worker keeps it: the receipt stays the bytes the server sent. */
export function deliveryFromServer(wire: WireDelivery): TaskEnvelope {
  return {
    id: wire.id,
    name: wire.name,
    payload: parseBytes(wire.payload),
    attempt: wire.attempt,
    ...(wire.max_attempts > 0 ? { maxAttempts: wire.max_attempts } : {}),
    ...(wire.enqueued_at > 0 ? { enqueuedAt: wire.enqueued_at } : {}),
    ...optionalFields(wire),
    receipt: Buffer.from(wire.receipt),
  };
}

/** What the worker sends back about a delivery: everything but the payload. */
export function deliveryRef(task: TaskEnvelope): WireDelivery {
  const receipt = task.receipt;
  return {
    id: task.id,
    name: task.name,
    payload: EMPTY,
    attempt: task.attempt,
    max_attempts: task.maxAttempts ?? 0,
    enqueued_at: task.enqueuedAt ?? 0,
    receipt: receipt instanceof Uint8Array ? receipt : EMPTY,
    // Sent back so a store that limits per key sees it in a permit request.
    concurrency_key: task.concurrencyKey ?? '',
    trace_context: '',
  };
}

/** The delivery a worker refers to, with the store's receipt decoded; no payload (stores fence by id, attempt and receipt). */
export function deliveryFromWorker(wire: WireDelivery): TaskEnvelope {
  return {
    id: wire.id,
    name: wire.name,
    payload: undefined,
    attempt: wire.attempt,
    ...(wire.max_attempts > 0 ? { maxAttempts: wire.max_attempts } : {}),
    ...(wire.enqueued_at > 0 ? { enqueuedAt: wire.enqueued_at } : {}),
    ...optionalFields(wire),
    receipt: parseBytes(wire.receipt),
  };
}

/**
 * An outcome as the worker sends it. Errors are bounded and never fail to
 * encode (see errorJson): one hostile error must not wedge the publishing
 * of every outcome behind it. A result JSON cannot carry is dropped, with a
 * warning, and the task still completes.
 */
export function outcomeToWire(outcome: TaskOutcome, warn: (message: string) => void): WireOutcome {
  const base: WireOutcome = {
    task: deliveryRef(outcome.task),
    status: 'RELEASED',
    result: EMPTY,
    duration_ms: 0,
    reason: '',
    error: EMPTY,
    next_attempt: 0,
    delay_ms: 0,
    run_at: 0,
    started: false,
  };
  switch (outcome.status) {
    case 'completed': {
      const encoded = encodeJson(outcome.result);
      if (!encoded.ok) warn(Messages.grpcResultNotJson(outcome.task.name, outcome.task.id, encoded.problem));
      return {
        ...base,
        status: 'COMPLETED',
        result: encoded.ok ? textBytes(encoded.text) : EMPTY,
        duration_ms: outcome.durationMs,
      };
    }
    case 'failed':
      return { ...base, status: 'FAILED', reason: outcome.reason, error: textBytes(errorJson(outcome.error)) };
    case 'retry':
      return {
        ...base,
        status: 'RETRY',
        reason: outcome.reason,
        error: textBytes(errorJson(outcome.error)),
        next_attempt: outcome.nextAttempt,
        delay_ms: outcome.delayMs,
        run_at: outcome.runAt,
      };
    case 'released':
      return { ...base, delay_ms: outcome.delayMs !== undefined && outcome.delayMs > 0 ? outcome.delayMs : 0 };
    case 'cancelled':
      return { ...base, status: 'CANCELLED', started: outcome.started };
  }
}

function errorOf(bytes: Uint8Array): SerializedTaskError {
  try {
    const parsed = parseBytes(bytes) as SerializedTaskError | undefined;
    if (parsed && typeof parsed === 'object' && typeof parsed.message === 'string') return parsed;
  } catch {
    // An error that does not parse is kept as an empty one rather than failing the batch.
  }
  return { name: 'Error', message: '' };
}

/** An outcome as the server hands it to the store; undefined for one it cannot read (skipped, like a stale one). */
export function outcomeFromWire(wire: WireOutcome, task: TaskEnvelope): TaskOutcome | undefined {
  switch (wire.status) {
    case 'COMPLETED': {
      let result: unknown;
      try {
        result = parseBytes(wire.result);
      } catch {
        result = undefined;
      }
      return { status: 'completed', task, result, durationMs: wire.duration_ms };
    }
    case 'FAILED':
      return { status: 'failed', task, reason: wire.reason as TaskFailureReason, error: errorOf(wire.error) };
    case 'RETRY':
      return {
        status: 'retry',
        task,
        reason: wire.reason as TaskFailureReason,
        error: errorOf(wire.error),
        nextAttempt: wire.next_attempt,
        delayMs: wire.delay_ms,
        runAt: wire.run_at,
      };
    case 'RELEASED':
      return { status: 'released', task, ...(wire.delay_ms > 0 ? { delayMs: wire.delay_ms } : {}) };
    case 'CANCELLED':
      return { status: 'cancelled', task, started: wire.started };
    default:
      return undefined;
  }
}

export function registeredToWire(tasks: readonly RegisteredTask[]): WireRegisteredTask[] {
  return tasks.map((task) => ({
    name: task.name,
    max_attempts: task.maxAttempts,
    rate_limit_max: task.rateLimit?.max ?? 0,
    rate_limit_interval_ms: task.rateLimit?.intervalMs ?? 0,
    concurrency_per_key: task.concurrencyPerKey ?? 0,
  }));
}

export function registeredFromWire(tasks: readonly WireRegisteredTask[]): RegisteredTask[] {
  return tasks.map((task) => ({
    name: task.name,
    maxAttempts: task.max_attempts,
    ...(task.rate_limit_max > 0
      ? { rateLimit: { max: task.rate_limit_max, intervalMs: task.rate_limit_interval_ms } }
      : {}),
    ...(task.concurrency_per_key > 0 ? { concurrencyPerKey: task.concurrency_per_key } : {}),
  }));
}

/** A permit request as the worker sends it: the delivery as a reference (the store fences and keys by it). */
export function permitRequestToWire(request: PermitRequest): WirePermitRequest {
  return {
    task: deliveryRef(request.task),
    rate_limit_max: request.rateLimit?.max ?? 0,
    rate_limit_interval_ms: request.rateLimit?.intervalMs ?? 0,
    concurrency_per_key: request.concurrencyPerKey ?? 0,
  };
}

export function permitRequestFromWire(wire: WirePermitRequest): PermitRequest {
  return {
    task: deliveryFromWorker(wire.task),
    ...(wire.rate_limit_max > 0
      ? { rateLimit: { max: wire.rate_limit_max, intervalMs: wire.rate_limit_interval_ms } }
      : {}),
    ...(wire.concurrency_per_key > 0 ? { concurrencyPerKey: wire.concurrency_per_key } : {}),
  };
}

export function permitAnswerToWire(answer: PermitAnswer): WirePermitAnswer {
  return answer.granted
    ? { granted: true, retry_after_ms: 0 }
    : { granted: false, retry_after_ms: Math.max(0, answer.retryAfterMs) };
}

export function permitAnswerFromWire(wire: WirePermitAnswer): PermitAnswer {
  return wire.granted ? { granted: true } : { granted: false, retryAfterMs: wire.retry_after_ms };
}

/**
 * A progress update as the worker sends it, or undefined for a value JSON
 * cannot carry (dropped, with the reason for a warning: progress is best effort).
 */
export function progressToWire(update: ProgressUpdate): WireProgressUpdate | { problem: string } {
  const encoded = encodeJson(update.value);
  if (!encoded.ok) return { problem: encoded.problem };
  return { task: deliveryRef(update.task), value: textBytes(encoded.text) };
}

/** A progress update as the server hands it to the store; undefined for a value that does not parse. */
export function progressFromWire(wire: WireProgressUpdate): ProgressUpdate | undefined {
  try {
    return { task: deliveryFromWorker(wire.task), value: parseBytes(wire.value) };
  } catch {
    return undefined;
  }
}

export function scheduleFireFromWire(wire: WireScheduleFire): ScheduleFire {
  return {
    key: wire.key,
    tick: wire.tick,
    task: enqueueFromWire(wire.task),
    whenNew: wire.when_new === 'record' ? 'record' : 'fire',
  };
}

/** A task to enqueue, as the server hands it to the store (options left out are the store's defaults). */
export function enqueueFromWire(wire: WireEnqueueTask): EnqueueTask {
  return {
    name: wire.name,
    payload: parseBytes(wire.payload),
    ...(wire.id ? { id: wire.id } : {}),
    ...(wire.delay_ms > 0 ? { delayMs: wire.delay_ms } : {}),
    ...(wire.priority !== 0 ? { priority: wire.priority } : {}),
    ...(wire.max_attempts > 0 ? { maxAttempts: wire.max_attempts } : {}),
    ...(wire.unique_key ? { uniqueKey: wire.unique_key } : {}),
    ...(wire.on_duplicate === 'keep' || wire.on_duplicate === 'replace' ? { onDuplicate: wire.on_duplicate } : {}),
    ...(wire.concurrency_key ? { concurrencyKey: wire.concurrency_key } : {}),
  };
}
