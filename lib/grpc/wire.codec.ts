import { Messages } from '../errors/error-messages.js';
import { encodeJson, errorJson } from '../clients/kit/json.encoder.js';
import type { SerializedTaskError } from '../interfaces/serialized-error.interface.js';
import type {
  RegisteredTask,
  TaskEnvelope,
  TaskFailureReason,
  TaskOutcome,
} from '../interfaces/task-client.interface.js';
import type { EnqueueTask } from '../interfaces/task-store.interface.js';

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
}

export type WireStatus = 'STATUS_UNSPECIFIED' | 'COMPLETED' | 'FAILED' | 'RETRY' | 'RELEASED';

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
}

export interface WireRegisteredTask {
  name: string;
  max_attempts: number;
}

export interface WireEnqueueTask {
  name: string;
  payload: Uint8Array;
  id: string;
  delay_ms: number;
  priority: number;
  max_attempts: number;
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
    case 'cancelled':
      return base;
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
      return { status: 'released', task };
    default:
      return undefined;
  }
}

export function registeredToWire(tasks: readonly RegisteredTask[]): WireRegisteredTask[] {
  return tasks.map((task) => ({ name: task.name, max_attempts: task.maxAttempts }));
}

export function registeredFromWire(tasks: readonly WireRegisteredTask[]): RegisteredTask[] {
  return tasks.map((task) => ({ name: task.name, maxAttempts: task.max_attempts }));
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
  };
}
