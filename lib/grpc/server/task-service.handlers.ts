import type { LoggerService } from '@nestjs/common';
import type * as Grpc from '@grpc/grpc-js';
import { serializeError } from '../../boundary/error.serializer.js';
import { describeThrown, encodeJson } from '../../clients/kit/json.encoder.js';
import { Messages } from '../../errors/error-messages.js';
import { InvalidPayloadError } from '../../errors/worker.errors.js';
import type {
  ProgressUpdate,
  RegisteredTask,
  TaskClient,
  TaskEnvelope,
  TaskOutcome,
} from '../../interfaces/task-client.interface.js';
import type { TaskStore } from '../../interfaces/task-store.interface.js';
import { unsupportedByStore, type StoreFeature } from '../store-features.js';
import {
  deliveryFromWorker,
  deliveryToWire,
  enqueueFromWire,
  outcomeFromWire,
  permitAnswerToWire,
  permitRequestFromWire,
  progressFromWire,
  registeredFromWire,
  scheduleFireFromWire,
  textBytes,
  type WireDelivery,
  type WireEnqueueTask,
  type WireOutcome,
  type WirePermitRequest,
  type WireProgressUpdate,
  type WireRegisteredTask,
  type WireScheduleFire,
} from '../wire.codec.js';
import type { CallAuthenticator } from './call.authenticator.js';
import type { FetchCoordinator } from './fetch.coordinator.js';
import type { StoreCallBatcher } from './store-call.batcher.js';
import type { WatchBroadcaster } from './watch.broadcaster.js';

/** What the handlers work with; the server assembles it. */
export interface ServiceParts {
  /** The worker side, always with leases (the store's own, or kept by the server). */
  readonly worker: TaskClient;
  /** The producer side: the store itself. */
  readonly store: TaskStore;
  readonly leaseMs: number;
  readonly fetches: FetchCoordinator;
  /**
   * Lease extensions of every remote worker, one store call at a time over
   * all of them: a store client extends as one consumer and may share an
   * extension in flight with an overlapping caller (PostgreSQL does), so two
   * workers' calls must not overlap, or one would get the other's answer.
   */
  readonly extensions: StoreCallBatcher<TaskEnvelope, void | readonly TaskEnvelope[]>;
  readonly outcomes: StoreCallBatcher<TaskOutcome>;
  readonly startMarks: StoreCallBatcher<TaskEnvelope>;
  readonly progress: StoreCallBatcher<ProgressUpdate>;
  /** The optional members the store has (HelloReply.store_features). */
  readonly features: readonly StoreFeature[];
  /** The store's class name, for errors. */
  readonly storeName: string;
  readonly watchers: WatchBroadcaster;
  readonly auth: CallAuthenticator;
  readonly maxFetchWaitMs: number;
  readonly maxMessageBytes: number;
  readonly logger: LoggerService;
  readonly status: typeof Grpc.status;
  readonly Metadata: typeof Grpc.Metadata;
  register(tasks: readonly RegisteredTask[]): void;
  /** Tasks may be ready: wake waiting fetches and idle workers. */
  wake(): void;
  /** Gives deliveries back to the store, uncharged. */
  release(tasks: readonly TaskEnvelope[]): void;
  /** These tasks were cancelled through this server: tell their holders. */
  cancelled(ids: readonly string[]): void;
}

/** A failure the caller should see with this status (the others are INTERNAL). */
class StatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

type Unary = (call: Grpc.ServerUnaryCall<any, any>, callback: Grpc.sendUnaryData<any>) => void;

/** The handlers of TaskService: authenticate, decode, hand to the store, encode. */
export function taskServiceHandlers(p: ServiceParts): Grpc.UntypedServiceImplementation {
  const { status } = p;

  const unary =
    <Req, Res>(method: string, handle: (request: Req, call: Grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): Unary =>
    (call, callback) => {
      void (async () => {
        if (!(await p.auth.allows(call, method))) {
          callback({ code: status.UNAUTHENTICATED, details: 'the task server did not accept these credentials' });
          return;
        }
        try {
          callback(null, await handle(call.request as Req, call));
        } catch (error) {
          if (error instanceof StatusError) callback({ code: error.code, details: error.message });
          else {
            p.logger.warn(Messages.grpcStoreFailed(method, describeThrown(error, 600)));
            callback({ code: status.INTERNAL, details: describeThrown(error, 2000) });
          }
        }
      })();
    };

  /** The producer's mistakes are refusals (INVALID_ARGUMENT becomes a TypeError in the client), as with a local store. */
  const refusal = (error: unknown): never => {
    if (error instanceof TypeError || error instanceof SyntaxError)
      throw new StatusError(status.INVALID_ARGUMENT, describeThrown(error, 4000));
    throw new StatusError(status.FAILED_PRECONDITION, describeThrown(error, 4000));
  };

  /** The store lacks the method behind `call`: UNIMPLEMENTED, naming the store. */
  const needs = (feature: StoreFeature, call: string): void => {
    if (!p.features.includes(feature))
      throw new StatusError(status.UNIMPLEMENTED, unsupportedByStore(p.storeName, feature, call));
  };

  return {
    Hello: unary('Hello', async () => ({
      lease_ms: p.leaseMs,
      max_message_bytes: p.maxMessageBytes,
      store_features: p.features,
      store_name: p.storeName,
    })),

    Fetch: unary<{ max: number; wait_ms: number }, unknown>('Fetch', async (request, call) => {
      const cancelled = new AbortController();
      call.on('cancelled', () => cancelled.abort());
      const max = Math.max(1, request.max);
      const tasks = await p.fetches.fetch(max, Math.min(request.wait_ms, p.maxFetchWaitMs), cancelled.signal);
      // The worker went (its fetch was aborted) while these were fetched for it: back to the store, uncharged.
      if (call.cancelled) {
        if (tasks.length > 0) p.release(tasks);
        return { tasks: [], lease_ms: p.leaseMs };
      }
      // Headers now, before the batch is encoded and sent: they tell the
      // worker that tasks are on their way, so an abort from now on waits
      // for them instead of cancelling (a large batch on a slow link would
      // otherwise be released and fetched again after every abort, for ever).
      if (tasks.length > 0) call.sendMetadata(new p.Metadata());
      return { tasks: encodeDeliveries(p, tasks), lease_ms: p.leaseMs };
    }),

    Publish: unary<{ outcomes: WireOutcome[] }, unknown>('Publish', async (request) => {
      const outcomes: TaskOutcome[] = [];
      for (const wire of request.outcomes) {
        const outcome = outcomeFromWire(wire, deliveryFromWorker(wire.task));
        if (outcome) outcomes.push(outcome);
      }
      await p.outcomes.submit(outcomes);
      if (outcomes.some(freesWork)) p.wake();
      return {};
    }),

    ExtendLeases: unary<{ tasks: WireDelivery[] }, unknown>('ExtendLeases', async (request) => {
      const tasks = request.tasks.map(deliveryFromWorker);
      // The store answers with the lost deliveries of the merged call: this worker's are its positions.
      const lost = new Set((await p.extensions.submit(tasks)) ?? []);
      const positions: number[] = [];
      tasks.forEach((task, i) => lost.has(task) && positions.push(i));
      return { lost: positions };
    }),

    MarkStarted: unary<{ tasks: WireDelivery[] }, unknown>('MarkStarted', async (request) => {
      await p.startMarks.submit(request.tasks.map(deliveryFromWorker));
      return {};
    }),

    RegisterTasks: unary<{ tasks: WireRegisteredTask[] }, unknown>('RegisterTasks', async (request) => {
      const tasks = registeredFromWire(request.tasks);
      const limited = tasks.find((task) => task.rateLimit || task.concurrencyPerKey);
      if (limited) needs('acquirePermits', `the rateLimit or concurrencyPerKey of @Task('${limited.name}')`);
      try {
        p.register(tasks);
      } catch (error) {
        refusal(error);
      }
      return {};
    }),

    ReportProgress: unary<{ updates: WireProgressUpdate[] }, unknown>('ReportProgress', async (request) => {
      needs('reportProgress', 'ReportProgress (ctx.progress())');
      const updates: ProgressUpdate[] = [];
      for (const wire of request.updates) {
        const update = progressFromWire(wire);
        if (update) updates.push(update);
      }
      await p.progress.submit(updates);
      return {};
    }),

    AcquirePermits: unary<{ requests: WirePermitRequest[] }, unknown>('AcquirePermits', async (request) => {
      needs('acquirePermits', 'AcquirePermits (rateLimit, concurrencyPerKey)');
      if (request.requests.length === 0) return { answers: [] };
      const answers = await p.worker.acquirePermits!(request.requests.map(permitRequestFromWire));
      if (answers.length !== request.requests.length)
        throw new Error(`acquirePermits() answered ${answers.length} of ${request.requests.length} requests`);
      return { answers: answers.map(permitAnswerToWire) };
    }),

    Watch: (call: Grpc.ServerWritableStream<{ tasks: WireRegisteredTask[] }, any>) => {
      void (async () => {
        if (!(await p.auth.allows(call, 'Watch'))) {
          call.emit('error', {
            code: status.UNAUTHENTICATED,
            details: 'the task server did not accept these credentials',
          });
          return;
        }
        try {
          if (call.request.tasks.length > 0) p.register(registeredFromWire(call.request.tasks));
        } catch (error) {
          call.emit('error', { code: status.INVALID_ARGUMENT, details: describeThrown(error, 2000) });
          return;
        }
        p.watchers.add(call);
      })();
    },

    Enqueue: unary<{ tasks: WireEnqueueTask[]; many: boolean }, unknown>('Enqueue', async (request) => {
      let ids: readonly string[];
      try {
        const tasks = request.tasks.map(enqueueFromWire);
        if (request.many) ids = await p.store.enqueueMany(tasks);
        else {
          const [{ name, payload, ...options }] = tasks as [(typeof tasks)[number]];
          ids = [await p.store.enqueue(name, payload, options)];
        }
      } catch (error) {
        return refusal(error);
      }
      if (ids.length > 0) p.wake();
      return { ids };
    }),

    Get: unary<{ id: string }, unknown>('Get', async (request) => ({
      record: jsonOrStripped(await p.store.get(request.id)),
    })),

    Counts: unary('Counts', async () => {
      const { queued, delayed, running, completed, failed, cancelled } = await p.store.counts();
      return { queued, delayed, running, completed, failed, cancelled: cancelled ?? 0 };
    }),

    DeadLetters: unary<{ limit: number }, unknown>('DeadLetters', async (request) => ({
      letters: jsonOrStripped(await p.store.deadLetters(request.limit)),
    })),

    RetryDeadLetter: unary<{ id: string }, unknown>('RetryDeadLetter', async (request) => {
      needs('retryDeadLetter', 'RetryDeadLetter');
      const done = await p.store.retryDeadLetter!(request.id);
      if (done) p.wake();
      return { done };
    }),

    Cancel: unary<{ id: string }, unknown>('Cancel', async (request) => {
      needs('cancel', 'Cancel');
      const done = await p.store.cancel!(request.id);
      // Told here as well as by the store's watchCancels() (a store may
      // have none): a notice about a task a worker does not hold is ignored.
      if (done) p.cancelled([request.id]);
      return { done };
    }),

    FireSchedule: unary<WireScheduleFire, unknown>('FireSchedule', async (request) => {
      needs('fireSchedule', 'FireSchedule (schedules)');
      let id: string | undefined;
      try {
        id = await p.store.fireSchedule!(scheduleFireFromWire(request));
      } catch (error) {
        return refusal(error);
      }
      if (id !== undefined) p.wake();
      return { id: id ?? '' };
    }),
  };
}

/**
 * Whether an outcome may let a waiting fetch find work: a task given back
 * without delay, a retry due now, or the end of a delivery with a
 * concurrency key (its permit is free now). Other outcomes wake nobody, so
 * a busy drain does not send a wake-up per completed task.
 */
function freesWork(outcome: TaskOutcome): boolean {
  switch (outcome.status) {
    case 'released':
      return !(outcome.delayMs !== undefined && outcome.delayMs > 0) || outcome.task.concurrencyKey !== undefined;
    case 'retry':
      return outcome.delayMs <= 0 || outcome.task.concurrencyKey !== undefined;
    default:
      return outcome.task.concurrencyKey !== undefined;
  }
}

/**
 * Deliveries as JSON for the wire, at most what fits in one message (the
 * rest is released at once, uncharged). A payload JSON cannot carry (put in
 * an in-memory store by a local producer) can never reach a remote worker:
 * dead-lettered as invalid-payload.
 */
function encodeDeliveries(p: ServiceParts, tasks: readonly TaskEnvelope[]): WireDelivery[] {
  const room = Math.floor(p.maxMessageBytes * 0.9);
  const wire: WireDelivery[] = [];
  const invalid: TaskOutcome[] = [];
  const over: TaskEnvelope[] = [];
  let size = 0;
  for (const task of tasks) {
    const encoded = encodeJson(task.payload);
    if (!encoded.ok) {
      const message = Messages.grpcPayloadNotJson(task.name, task.id, encoded.problem);
      p.logger.error(message);
      invalid.push({
        status: 'failed',
        task,
        reason: 'invalid-payload',
        error: serializeError(new InvalidPayloadError(task.name, [{ message }])),
      });
      continue;
    }
    const delivery = deliveryToWire(task, encoded.text);
    const bytes = delivery.payload.length + delivery.name.length + delivery.receipt.length + 128;
    if (wire.length > 0 && size + bytes > room) {
      over.push(task);
      continue;
    }
    size += bytes;
    wire.push(delivery);
  }
  if (invalid.length > 0)
    p.worker
      .publish(invalid)
      .catch((error: unknown) => p.logger.warn(Messages.grpcStoreFailed('publish', describeThrown(error))));
  if (over.length > 0) p.release(over);
  return wire;
}

/** JSON of what a store returned; without the result and payload if those cannot be written (a local producer's BigInt). */
function jsonOrStripped(value: unknown): Buffer {
  const encoded = encodeJson(value);
  if (encoded.ok) return textBytes(encoded.text);
  const strip = (item: unknown) =>
    item && typeof item === 'object' ? { ...(item as object), result: undefined, payload: null } : item;
  const stripped = encodeJson(Array.isArray(value) ? value.map(strip) : strip(value));
  if (stripped.ok) return textBytes(stripped.text);
  throw new StatusError(13, `the store's answer cannot be written as JSON (${encoded.problem})`);
}
