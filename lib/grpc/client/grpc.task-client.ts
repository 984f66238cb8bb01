import { Inject, Injectable, Optional, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { checkEnqueue, payloadJson } from '../../clients/kit/enqueue.validator.js';
import { describeThrown } from '../../clients/kit/json.encoder.js';
import { Messages } from '../../errors/error-messages.js';
import { TaskLimitsUnsupportedError } from '../../errors/worker.errors.js';
import type {
  PermitAnswer,
  PermitRequest,
  ProgressUpdate,
  RegisteredTask,
  TaskClient,
  TaskEnvelope,
  TaskOutcome,
} from '../../interfaces/task-client.interface.js';
import type {
  DeadLetter,
  EnqueueOptions,
  EnqueueTask,
  ScheduleFire,
  TaskCounts,
  TaskRecord,
  TaskStore,
} from '../../interfaces/task-store.interface.js';
import type { StoreFeature } from '../store-features.js';
import {
  deliveryFromServer,
  deliveryRef,
  outcomeToWire,
  parseBytes,
  permitAnswerFromWire,
  permitRequestToWire,
  progressToWire,
  registeredToWire,
  textBytes,
  type WireDelivery,
  type WireEnqueueTask,
  type WireOutcome,
  type WirePermitAnswer,
  type WireProgressUpdate,
} from '../wire.codec.js';
import { CANCELLED, GrpcChannel } from './grpc.channel.js';
import { GRPC_TASK_CLIENT_OPTIONS, type GrpcTaskClientOptions } from './grpc-task-client-options.interface.js';
import { resolveGrpcClientOptions, type ResolvedGrpcClientOptions } from './grpc-task-client-options.resolver.js';
import { callHello } from './hello.caller.js';
import { WatchStream } from './watch.stream.js';

/** A published batch is split so that no message comes near the size limit (results can be large). */
const PUBLISH_SHARE_OF_LIMIT = 1 / 4;

/**
 * A task client over gRPC: the worker loop pulls tasks from a
 * `GrpcTaskServer` that owns the task store (in-memory, PostgreSQL, Redis),
 * so worker machines need no database credentials. The semantics are the
 * store's: leases with fencing (the store's receipt travels opaque and
 * comes back with every outcome), at-least-once delivery, retries and dead
 * letters. `leaseMs` is the server's; make the client with
 * `await GrpcTaskClient.connect(options)` so it is known before the loop
 * starts (or let Nest call `onModuleInit()`).
 *
 * Also a `TaskStore`: producers can enqueue and look up tasks through the server.
 */
@Injectable()
export class GrpcTaskClient implements TaskClient, TaskStore, OnModuleInit, OnApplicationShutdown {
  private readonly settings: ResolvedGrpcClientOptions;
  private readonly channel: GrpcChannel;
  private readonly watcher: WatchStream;
  private registered: readonly RegisteredTask[] = [];
  private registering: Promise<unknown> = Promise.resolve();
  private serverLeaseMs?: number;
  private serverFeatures?: readonly StoreFeature[];
  private serverStoreName?: string;
  /** The server answered ReportProgress with UNIMPLEMENTED: progress stays in this process (events$). */
  private progressUnsupported = false;
  private readonly progressNotJsonWarned = new Set<string>();
  private maxMessageBytes: number;
  private connecting?: Promise<void>;
  private closed = false;

  /** Makes a client and waits until the server has answered (its lease is known), up to `connectTimeoutMs`. */
  static async connect(options: GrpcTaskClientOptions): Promise<GrpcTaskClient> {
    const client = new GrpcTaskClient(options);
    try {
      await client.ready();
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  constructor(@Optional() @Inject(GRPC_TASK_CLIENT_OPTIONS) options?: GrpcTaskClientOptions) {
    this.settings = resolveGrpcClientOptions(options);
    this.maxMessageBytes = this.settings.maxMessageBytes;
    this.channel = new GrpcChannel(this.settings);
    this.watcher = new WatchStream(
      this.channel,
      () => this.registered,
      (leaseMs) => (this.serverLeaseMs = leaseMs),
      this.settings.logger,
    );
  }

  /** The server as grpc(s)://host:port. */
  get address(): string {
    return this.settings.address;
  }

  /** The lease of a delivery, as the server (its store) grants it; undefined until the server has answered. */
  get leaseMs(): number | undefined {
    return this.serverLeaseMs;
  }

  /**
   * The optional members of the server's store (cancel, watchCancels,
   * reportProgress, acquirePermits, fireSchedule, retryDeadLetter), as the
   * server told them; undefined until it has answered, empty from a server
   * older than these. Calls to the others fail with UNIMPLEMENTED.
   */
  get storeFeatures(): readonly StoreFeature[] | undefined {
    return this.serverFeatures;
  }

  /**
   * Resolves once the server has answered (and told its lease). Rejects when
   * `connectTimeoutMs` has passed, naming what the connection last failed on;
   * at once when that cannot mend (credentials, a certificate, TLS settings).
   */
  ready(): Promise<void> {
    this.connecting ??= this.hello().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  onModuleInit(): Promise<void> {
    return this.ready();
  }

  async fetch(max: number, signal: AbortSignal): Promise<readonly TaskEnvelope[]> {
    if (this.closed || signal.aborted || !(max > 0)) return [];
    await this.registering;
    const reply = await this.channel.unary<{ tasks: WireDelivery[]; lease_ms: number }>(
      'Fetch',
      { max: Math.min(max, 100_000), wait_ms: this.settings.fetchWaitMs },
      { timeoutMs: this.settings.fetchWaitMs + this.settings.callTimeoutMs, signal },
    );
    if (reply === CANCELLED) return [];
    if (reply.lease_ms > 0) this.serverLeaseMs = reply.lease_ms;
    return reply.tasks.map(deliveryFromServer);
  }

  async publish(outcomes: readonly TaskOutcome[]): Promise<void> {
    const warn = (message: string) => this.settings.logger.warn(message);
    const wire = outcomes.map((outcome) => outcomeToWire(outcome, warn));
    const size = (outcome: WireOutcome) =>
      outcome.result.length + outcome.error.length + outcome.task.name.length + 256;
    for (const batch of this.chunks(wire, size)) await this.call('Publish', { outcomes: batch });
  }

  /**
   * Extends the leases of held deliveries through the server (which passes
   * them to the store, or keeps them itself for a store without leases) and
   * resolves with those of `tasks` whose lease was already lost.
   */
  async extendLeases(tasks: readonly TaskEnvelope[]): Promise<readonly TaskEnvelope[]> {
    if (this.closed || tasks.length === 0) return [];
    const reply = await this.call<{ lost: number[] }>('ExtendLeases', { tasks: tasks.map(deliveryRef) });
    return reply.lost.filter((i) => i < tasks.length).map((i) => tasks[i]!);
  }

  async markStarted(tasks: readonly TaskEnvelope[]): Promise<void> {
    if (this.closed || tasks.length === 0) return;
    await this.call('MarkStarted', { tasks: tasks.map(deliveryRef) });
  }

  /**
   * Tells the server this worker's @Task() policies (the server's store uses
   * them when a lease runs out on a last attempt). Sent now, and again with
   * every (re)opened watch stream, so a restarted server learns them back.
   */
  registerTasks(tasks: readonly RegisteredTask[]): void {
    if (!Array.isArray(tasks)) throw new TypeError('GrpcTaskClient.registerTasks(): expected an array of tasks.');
    // A store that cannot enforce limits fails the worker's start, as a local
    // client without acquirePermits() does (known once the server answered;
    // a server older than job control tells no store name).
    const limited = tasks.filter((task) => task.rateLimit || task.concurrencyPerKey !== undefined);
    if (limited.length > 0 && this.serverStoreName && !this.serverFeatures?.includes('acquirePermits'))
      throw new TaskLimitsUnsupportedError(
        limited.map((task) => task.name),
        `the gRPC task server ${this.address} (its store, ${this.serverStoreName})`,
      );
    this.registered = tasks.map(({ name, maxAttempts, rateLimit, concurrencyPerKey }) => ({
      name,
      maxAttempts,
      ...(rateLimit ? { rateLimit: { max: rateLimit.max, intervalMs: rateLimit.intervalMs } } : {}),
      ...(concurrencyPerKey ? { concurrencyPerKey } : {}),
    }));
    this.registering = this.call('RegisterTasks', { tasks: registeredToWire(this.registered) }).catch(
      (error: unknown) =>
        this.settings.logger.warn(
          `Registering ${tasks.length} task(s) with the server failed: ${describeThrown(error, 600)}`,
        ),
    );
  }

  watch(onAvailable: () => void): () => void {
    return this.watcher.add(onAvailable);
  }

  /**
   * Cancel notices from the server, over the same Watch stream as the
   * wake-ups: the ids of tasks cancelled (through any producer of the
   * server's store) while they may be running. A notice sent while the
   * stream was down is lost; the holder then learns it from its next lease
   * extension, which reports the delivery lost.
   */
  watchCancels(onCancel: (ids: readonly string[]) => void): () => void {
    return this.watcher.addCancels(onCancel);
  }

  /**
   * Sends the latest progress of running deliveries to the server's store,
   * fenced by their receipts there. A value JSON cannot carry is dropped
   * with a warning. When the server's store keeps no progress (UNIMPLEMENTED)
   * it says so once and sends nothing more: progress still reaches `events$`.
   */
  async reportProgress(updates: readonly ProgressUpdate[]): Promise<void> {
    if (this.closed || this.progressUnsupported || updates.length === 0) return;
    const wire: WireProgressUpdate[] = [];
    for (const update of updates) {
      const encoded = progressToWire(update);
      if ('task' in encoded) wire.push(encoded);
      else if (!this.progressNotJsonWarned.has(update.task.name)) {
        this.progressNotJsonWarned.add(update.task.name);
        this.settings.logger.warn(
          `Progress of task "${update.task.name}" (id "${update.task.id}") cannot be sent to the task server as JSON (${encoded.problem}); it was dropped. Report JSON-compatible values from ctx.progress() (warned once per task name).`,
        );
      }
    }
    const size = (update: WireProgressUpdate) => update.value.length + update.task.name.length + 256;
    try {
      for (const batch of this.chunks(wire, size)) await this.call('ReportProgress', { updates: batch });
    } catch (error) {
      if (!this.channel.isStatus((error as { cause?: unknown }).cause, 'UNIMPLEMENTED')) throw error;
      this.progressUnsupported = true;
      this.settings.logger.warn(
        `The task server ${this.address} keeps no progress (${describeThrown(error, 600)}); ctx.progress() of this worker's tasks reaches its events$ only.`,
      );
    }
  }

  /** Rate-limit and concurrency-key permits, granted by the server's store (across every worker of it). */
  async acquirePermits(requests: readonly PermitRequest[]): Promise<readonly PermitAnswer[]> {
    if (requests.length === 0) return [];
    const reply = await this.call<{ answers: WirePermitAnswer[] }>('AcquirePermits', {
      requests: requests.map(permitRequestToWire),
    });
    if (reply.answers.length !== requests.length)
      throw new Error(
        `The task server ${this.address} answered ${reply.answers.length} of ${requests.length} permit requests.`,
      );
    return reply.answers.map(permitAnswerFromWire);
  }

  /** Cancels a task in the server's store; its holder, on any worker of that store, stops it. */
  async cancel(id: string): Promise<boolean> {
    this.assertOpen('cancel');
    const reply = await this.call<{ done: boolean }>('Cancel', { id: String(id) });
    return reply.done;
  }

  /** Puts a dead letter of the server's store back as attempt 1. */
  async retryDeadLetter(id: string): Promise<boolean> {
    this.assertOpen('retryDeadLetter');
    const reply = await this.call<{ done: boolean }>('RetryDeadLetter', { id: String(id) });
    return reply.done;
  }

  /** Offers one tick of a schedule to the server's store, which fires it at most once per key and tick. */
  async fireSchedule(fire: ScheduleFire): Promise<string | undefined> {
    this.assertOpen('fireSchedule');
    if (fire === null || typeof fire !== 'object' || typeof fire.key !== 'string' || !Number.isFinite(fire.tick))
      throw new TypeError('GrpcTaskClient.fireSchedule(): expected { key, tick, task, whenNew }.');
    const reply = await this.call<{ id: string }>('FireSchedule', {
      key: fire.key,
      tick: fire.tick,
      task: enqueueToWire(fire.task),
      when_new: fire.whenNew,
    });
    return reply.id === '' ? undefined : reply.id;
  }

  async enqueue(name: string, payload?: unknown, options: EnqueueOptions = {}): Promise<string> {
    this.assertOpen('enqueue');
    const wire = enqueueToWire({ ...options, name, payload });
    const reply = await this.call<{ ids: string[] }>('Enqueue', { tasks: [wire], many: false });
    return reply.ids[0]!;
  }

  async enqueueMany(tasks: readonly EnqueueTask[]): Promise<readonly string[]> {
    this.assertOpen('enqueueMany');
    if (!Array.isArray(tasks)) throw new TypeError('GrpcTaskClient.enqueueMany(): expected an array of tasks.');
    // Checked and encoded here, before anything is sent: a bad task adds nothing.
    const wire = tasks.map((task, i) => enqueueToWire(task, i));
    const reply = await this.call<{ ids: string[] }>('Enqueue', { tasks: wire, many: true });
    return reply.ids;
  }

  async get<R = unknown>(id: string): Promise<TaskRecord<R> | undefined> {
    const reply = await this.call<{ record: Uint8Array }>('Get', { id: String(id) });
    return parseBytes(reply.record) as TaskRecord<R> | undefined;
  }

  async counts(): Promise<TaskCounts> {
    const { queued, delayed, running, completed, failed, cancelled } = await this.call<TaskCounts>('Counts', {});
    return { queued, delayed, running, completed, failed, cancelled: cancelled ?? 0 };
  }

  async deadLetters(limit = 100): Promise<readonly DeadLetter[]> {
    if (!Number.isInteger(limit) || limit < 0)
      throw new TypeError(`GrpcTaskClient.deadLetters(): limit must be a whole number >= 0, got ${String(limit)}.`);
    const reply = await this.call<{ letters: Uint8Array }>('DeadLetters', { limit });
    return (parseBytes(reply.letters) as DeadLetter[] | undefined) ?? [];
  }

  /** Ends the watch stream and the channel. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher.close();
    this.channel.close();
  }

  /** Nest calls this after every `onModuleDestroy()`, so the worker loop has flushed its outcomes by then. */
  onApplicationShutdown(): void {
    this.close();
  }

  private async hello(): Promise<void> {
    const { connectTimeoutMs } = this.settings;
    const reply = await callHello<{
      lease_ms: number;
      max_message_bytes: number;
      store_features?: string[];
      store_name?: string;
    }>(this.channel, connectTimeoutMs);
    if (reply.lease_ms > 0) this.serverLeaseMs = reply.lease_ms;
    this.serverFeatures = (reply.store_features ?? []) as StoreFeature[];
    this.serverStoreName = reply.store_name || undefined;
    if (reply.max_message_bytes > 0) this.maxMessageBytes = Math.min(this.maxMessageBytes, reply.max_message_bytes);
  }

  private async call<T>(method: string, request: unknown): Promise<T> {
    const reply = await this.channel.unary<T>(method, request);
    return reply as T;
  }

  /** Batches below a share of the message limit (an item bigger than that goes alone). */
  private *chunks<T>(items: readonly T[], sizeOf: (item: T) => number): Generator<T[]> {
    const limit = this.maxMessageBytes * PUBLISH_SHARE_OF_LIMIT;
    let batch: T[] = [];
    let size = 0;
    for (const item of items) {
      const bytes = sizeOf(item);
      if (batch.length > 0 && size + bytes > limit) {
        yield batch;
        batch = [];
        size = 0;
      }
      batch.push(item);
      size += bytes;
    }
    if (batch.length > 0) yield batch;
  }

  private assertOpen(method: string): void {
    if (this.closed) throw new Error(Messages.grpcClosed(method));
  }
}

/**
 * A task to enqueue, checked and its payload encoded on this side: what JSON
 * cannot carry is refused with a TypeError. The job-control options are
 * checked for their type only (the wire sends an empty string for "none");
 * the server's store checks the rest and its refusal comes back as a TypeError.
 */
function enqueueToWire(task: EnqueueTask, index?: number): WireEnqueueTask {
  const checked = checkEnqueue('GrpcTaskClient', task, index);
  const { uniqueKey, onDuplicate, concurrencyKey } = task;
  const at = index === undefined ? '' : `tasks[${index}]: `;
  const key = (field: string, value: unknown): string => {
    if (value === undefined) return '';
    if (typeof value === 'string' && value !== '') return value;
    throw new TypeError(
      `GrpcTaskClient.enqueue(): ${at}task "${checked.name}": "${field}" must be a non-empty string (or left out), got ${typeof value === 'string' ? 'an empty string' : typeof value}.`,
    );
  };
  if (onDuplicate !== undefined && onDuplicate !== 'keep' && onDuplicate !== 'replace')
    throw new TypeError(
      `GrpcTaskClient.enqueue(): ${at}task "${checked.name}": "onDuplicate" must be 'keep' or 'replace', got ${JSON.stringify(onDuplicate) ?? typeof onDuplicate}.`,
    );
  return {
    name: checked.name,
    payload: textBytes(payloadJson('GrpcTaskClient', checked, index)),
    id: checked.id ?? '',
    delay_ms: checked.delayMs,
    priority: checked.priority,
    max_attempts: checked.maxAttempts ?? 0,
    unique_key: key('uniqueKey', uniqueKey),
    on_duplicate: onDuplicate ?? '',
    concurrency_key: key('concurrencyKey', concurrencyKey),
  };
}
