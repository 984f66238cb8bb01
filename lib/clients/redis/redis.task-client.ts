import { Inject, Injectable, Optional, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { logText } from '../../common/log-text.js';
import { Messages } from '../../errors/error-messages.js';
import type {
  PermitAnswer,
  PermitRequest,
  ProgressUpdate,
  RegisteredTask,
  TaskClient,
  TaskEnvelope,
  TaskOutcome,
} from '../../interfaces/task-client.interface.js';
import type { ScheduleFire, TaskStore } from '../../interfaces/task-store.interface.js';
import { encodeJson } from '../kit/json.encoder.js';
import type { TaskRecord } from '../in-memory.task-client.js';
import { AttemptLimits } from '../kit/attempt-limits.registry.js';
import {
  enqueueArgs,
  opOn,
  outcomeOp,
  toDeadLetter,
  toRecord,
  type EnqueueInput,
  type Op,
  type RedisReceipt,
} from './redis.codec.js';
import { runScript, runScriptMany, Scripts, type Arg } from './redis.commands.js';
import { RedisCancels } from './redis.cancels.js';
import { RedisConnections } from './redis.connections.js';
import { RedisDeliveries } from './redis.deliveries.js';
import { RedisFetcher } from './redis.fetcher.js';
import { consumerName, GROUP, RedisKeys } from './redis.keys.js';
import { RedisLeases } from './redis.leases.js';
import { RedisOps } from './redis.ops.js';
import { RedisPermits } from './redis.permits.js';
import { fireSchedule } from './redis.schedules.js';
import {
  REDIS_TASK_CLIENT_OPTIONS,
  type RedisDeadLetter,
  type RedisEnqueueOptions,
  type RedisTaskClientOptions,
  type RedisTaskClientStats,
  type RedisTaskCounts,
} from './redis-task-client-options.interface.js';
import { resolveRedisOptions, type ResolvedRedisOptions } from './redis-task-client-options.resolver.js';

/** Tasks per ENQUEUE script call, and calls per pipeline: 100k tasks are 200 calls in 4 round trips. */
const ENQUEUE_PER_CALL = 500;
const CALLS_PER_PIPELINE = 50;
/** Longest progress value stored, as JSON text (as on PostgreSQL): progress is a status line rewritten often, not a result. */
const MAX_PROGRESS_CHARS = 65_536;

/**
 * A durable task source on Redis Streams, shared by any number of processes
 * and machines: producers `enqueue()` from anywhere (with or without Nest),
 * every worker loop pulls from one consumer group, so each entry goes to one
 * consumer at a time. Delivery is at-least-once: a task whose process dies
 * runs again elsewhere once its lease runs out; make handlers idempotent.
 *
 * Layout under `<prefix>:<queue>:` — `stream:high`, `stream`, `stream:low`
 * (priority bands, read high first), `delayed` (sorted set of due times),
 * `dead` (dead letters), `task:<id>` (records), `stats` (counters),
 * `started` (deliveries that reached a worker thread), `consumers` (when
 * each consumer was last heard of), `epoch` (a marker that tells a server
 * that lost its data), `schedules` (schedule markers), and per task name and
 * key `unique:`, `concurrency:` and `rate:` keys; cancel notices go out on the
 * channel `cancels` (see RedisKeys).
 */
@Injectable()
export class RedisTaskClient implements TaskClient, TaskStore, OnApplicationShutdown {
  readonly leaseMs: number;
  /** This process's consumer name in the group: hostname, pid and a random part. */
  readonly consumer = consumerName();
  readonly keys: RedisKeys;
  private readonly settings: ResolvedRedisOptions;
  private readonly conns: RedisConnections;
  private readonly limits: AttemptLimits;
  private readonly ops: RedisOps;
  private readonly leases: RedisLeases;
  private readonly deliveries: RedisDeliveries;
  private readonly fetcher: RedisFetcher;
  private readonly cancels: RedisCancels;
  private readonly permits: RedisPermits;
  private readonly logger: LoggerService;
  private readonly idPrefix = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  private seq = 0;
  private closing?: Promise<void>;
  private readonly counters: RedisTaskClientStats = {
    staleOutcomes: 0,
    lostLeases: 0,
    expiredLeases: 0,
    unchargedExpiries: 0,
    invalidEntries: 0,
    dataLosses: 0,
  };

  constructor(@Optional() @Inject(REDIS_TASK_CLIENT_OPTIONS) options?: RedisTaskClientOptions) {
    this.settings = resolveRedisOptions(options ?? {});
    this.leaseMs = this.settings.leaseMs;
    this.logger = this.settings.logger;
    this.keys = new RedisKeys(this.settings.prefix, this.settings.queue);
    this.conns = new RedisConnections(this.settings, this.logger);
    this.limits = new AttemptLimits(this.settings.maxAttempts);
    this.ops = new RedisOps(this.conns.command, this.keys, this.consumer, this.limits, this.settings);
    this.leases = new RedisLeases(this.ops, this.leaseMs);
    this.deliveries = new RedisDeliveries(
      this.conns,
      this.keys,
      this.consumer,
      this.ops,
      this.leases,
      this.settings,
      this.counters,
    );
    this.fetcher = new RedisFetcher(this.conns, this.keys, this.consumer, this.deliveries, this.settings);
    this.fetcher.onDataLost = () => this.dataLost();
    this.cancels = new RedisCancels(this.conns, this.keys, this.consumer, this.settings.keepCompletedMs);
    this.permits = new RedisPermits(this.conns.command, this.keys, this.consumer, this.leaseMs);
    this.conns.onReconnect = () => this.fetcher.connectionDropped();
  }

  /** Outcomes ignored because this process had lost the task to another delivery (fenced). */
  get staleOutcomes(): number {
    return this.counters.staleOutcomes;
  }

  /** Deliveries whose lease this process found lost when extending it, each counted once. */
  get lostLeases(): number {
    return this.leases.lostCount;
  }

  /** Counters of this client since it was made. */
  get stats(): Readonly<RedisTaskClientStats> {
    return { ...this.counters, lostLeases: this.leases.lostCount };
  }

  /** The connection for commands, to run your own (it may be the one you passed). */
  get redis() {
    return this.conns.command;
  }

  /**
   * Adds a task; resolves with its id once Redis has it. With a `uniqueKey`
   * held by a task of this name that waits or runs, resolves with that
   * task's id instead (see `onDuplicate`).
   */
  async enqueue(name: string, payload?: unknown, options: RedisEnqueueOptions = {}): Promise<string> {
    this.assertOpen('enqueue');
    const [id] = await this.insert([enqueueArgs({ ...options, name, payload }, this.newId)]);
    return id!;
  }

  /**
   * Adds many tasks in a few pipelined round trips; resolves with their ids
   * in order (for a unique key in use, the id of the task holding it; two
   * tasks of one call with the same key get the first one's).
   */
  async enqueueMany(tasks: readonly EnqueueInput[]): Promise<string[]> {
    this.assertOpen('enqueueMany');
    if (!Array.isArray(tasks)) {
      throw new TypeError(
        Messages.enqueueRefused('RedisTaskClient', `expected an array of tasks, got ${typeof tasks}`),
      );
    }
    return this.insert(tasks.map((task, i) => enqueueArgs(task, this.newId, i)));
  }

  /** What Redis knows about a task, shaped like `InMemoryTaskClient.get()`; undefined once its record expired. */
  async get<R = unknown>(id: string): Promise<TaskRecord<R> | undefined> {
    return toRecord<R>(id, await this.conns.command.hgetall(this.keys.record(id)));
  }

  /**
   * Tasks per state, from one script (O(1) per key). `queued` counts stream
   * entries not yet delivered, `running` the delivered and unfinished ones
   * (held by a loop, started or not); `completed` and `failed` are counters
   * since the queue was created, not the records still kept.
   */
  async counts(): Promise<RedisTaskCounts> {
    const [queued, delayed, running, completed, failed, cancelled] = (await runScript(
      this.conns.command,
      Scripts.counts,
      this.keys.scriptKeys,
      [GROUP],
    )) as number[];
    return {
      queued: queued!,
      delayed: delayed!,
      running: running!,
      completed: completed!,
      failed: failed!,
      cancelled: cancelled!,
    };
  }

  /**
   * Cancels a task that waits or runs (one script, see
   * scripts/cancel.lua.ts): a waiting one is never delivered; a running one
   * is marked cancelled at once, its holder's outcome fenced, and its holder
   * told (the `cancels` channel, see `watchCancels()`). Resolves false for an
   * unknown or finished task. Its unique key is free at once.
   */
  cancel(id: string): Promise<boolean> {
    this.assertOpen('cancel');
    if (typeof id !== 'string' || id === '') return Promise.resolve(false);
    return this.cancels.cancel(id);
  }

  /** Calls `onCancel` with the id of every task cancelled while a consumer (of any process) held it. */
  watchCancels(onCancel: (ids: readonly string[]) => void): () => void {
    this.assertOpen('watchCancels');
    return this.cancels.watch(onCancel);
  }

  /**
   * Puts a dead letter back in the queue as attempt 1 (its errors kept) and
   * deletes its dead-letter entry; resolves false when `id` is not a dead
   * letter whose record is still kept (`keepFailedMs`).
   */
  async retryDeadLetter(id: string): Promise<boolean> {
    this.assertOpen('retryDeadLetter');
    const args = [GROUP, this.consumer, this.keys.recordPrefix, id];
    return Number(await runScript(this.conns.command, Scripts.retryDeadLetter, this.keys.scriptKeys, args)) === 1;
  }

  /** One tick of a schedule: fired once, however many processes offer it (see `TaskStore.fireSchedule`). */
  fireSchedule(fire: ScheduleFire): Promise<string | undefined> {
    this.assertOpen('fireSchedule');
    return fireSchedule(this.conns.command, this.keys, this.consumer, fire, this.newId);
  }

  /**
   * Rate limits and concurrency keys for deliveries this client made: one
   * script call per batch, each answer atomic (see redis.permits.ts).
   */
  acquirePermits(requests: readonly PermitRequest[]): Promise<readonly PermitAnswer[]> {
    return this.permits.acquire(requests);
  }

  /**
   * Stores the latest progress of deliveries this process holds, fenced like
   * outcomes, in one round trip. A value JSON cannot hold, or longer than
   * 64 KiB as JSON, is dropped with a warning.
   */
  async reportProgress(updates: readonly ProgressUpdate[]): Promise<void> {
    const ops: Op[] = [];
    for (const { task, value } of updates) {
      const r = task.receipt as RedisReceipt | undefined;
      if (!r || typeof r.entryId !== 'string') continue;
      const json = encodeJson(value);
      if (!json.ok) {
        this.logger.warn(
          `Progress of task "${logText(task.name)}" (id "${logText(task.id)}") cannot be stored as JSON (${logText(json.problem, 500)}); it was dropped. Report JSON-compatible values with ctx.progress().`,
        );
        continue;
      }
      if (json.text === undefined) continue;
      if (json.text.length > MAX_PROGRESS_CHARS) {
        this.logger.warn(
          `RedisTaskClient dropped a progress value of task "${logText(task.name)}" (id "${logText(task.id)}") of ${json.text.length} characters as JSON (at most ${MAX_PROGRESS_CHARS}): report a summary, keep the data elsewhere.`,
        );
        continue;
      }
      ops.push(opOn('progress', r, task.id, task.attempt, json.text));
    }
    await this.ops.apply(ops);
  }

  /** The newest dead letters first (stream `<prefix>:<queue>:dead`, trimmed after `keepFailedMs`). */
  async deadLetters(count = 100): Promise<RedisDeadLetter[]> {
    const entries = (await this.conns.command.xrevrange(this.keys.dead, '+', '-', 'COUNT', count)) as Array<
      [string, string[]]
    >;
    return entries.map(([entryId, fields]) => toDeadLetter(entryId, fields));
  }

  fetch(max: number, signal: AbortSignal): Promise<readonly TaskEnvelope[]> {
    if (this.closing) return Promise.resolve([]);
    // close() drops the blocking connection under a pending read: that is an end, not an error.
    return this.fetcher.fetch(max, signal).catch((error: unknown) => {
      if (this.closing) return [];
      throw error;
    });
  }

  /**
   * Records outcomes, fenced: those of entries this process lost meanwhile
   * are ignored and counted. An outcome an earlier try recorded (its reply
   * was lost with the connection) is told from those, and so is one whose
   * task Redis no longer has (it lost its data).
   */
  async publish(outcomes: readonly TaskOutcome[]): Promise<void> {
    const ops: Op[] = [];
    const tasks: TaskEnvelope[] = [];
    for (const outcome of outcomes) {
      const op = outcomeOp(outcome, (task, reason) =>
        this.logger.warn(Messages.redisResultNotJson(task.name, task.id, reason)),
      );
      if (!op) continue;
      ops.push(op);
      tasks.push(outcome.task);
    }
    const applied = await this.ops.apply(ops);
    let stale = 0;
    let recorded = 0;
    const gone: string[] = [];
    applied.forEach((result, i) => {
      const task = tasks[i]!;
      // Found lost by extendLeases(), which logged it: counted, not logged again.
      const reported = this.leases.reported(task);
      if (result.status === 'stale') {
        this.counters.staleOutcomes++;
        if (!reported) stale++;
      } else if (result.status === 'done') recorded++;
      else if (result.status === 'gone') gone.push(task.id);
      else if (result.status === 'failed') {
        const { entryId } = task.receipt as RedisReceipt;
        this.counters.invalidEntries++;
        this.logger.warn(Messages.redisEntryRefused(entryId, task.id, task.name, result.problem));
      }
    });
    if (stale > 0) this.logger.warn(Messages.redisStaleOutcomes(stale, this.leaseMs));
    if (recorded > 0) this.logger.log?.(Messages.redisOutcomesRecorded(recorded));
    if (gone.length > 0) this.logger.warn(Messages.redisOutcomesGone(gone.length, gone));
    for (const outcome of outcomes) this.leases.forget(outcome.task);
  }

  /**
   * Resets the idle time of the entries of `tasks` (XCLAIM JUSTID to itself,
   * fenced) and resolves with those of `tasks` whose lease was already lost:
   * their entry was delivered again after nobody extended it for `leaseMs`.
   * The worker loop calls it every `leaseMs / 3` with every task it holds,
   * finished ones whose outcomes wait to be published included. A delivery
   * this process settled meanwhile is not lost; each lost one is counted and
   * logged once.
   */
  async extendLeases(tasks: readonly TaskEnvelope[]): Promise<readonly TaskEnvelope[]> {
    if (this.closing) return [];
    const { lost, fresh } = await this.leases.extend(tasks);
    if (fresh > 0) this.logger.warn(Messages.redisLostLeases(fresh, this.leaseMs));
    return lost;
  }

  /**
   * Notes that these deliveries reached a worker thread (one fenced write
   * each, in one round trip): from now on their lease running out charges an
   * attempt. A delivery never noted (prefetched by a process that died) is
   * taken over sooner and keeps its attempt, within a bound (see
   * scripts/apply.lua.ts).
   */
  markStarted(tasks: readonly TaskEnvelope[]): Promise<void> {
    if (this.closing) return Promise.resolve();
    return this.deliveries.markStarted(tasks);
  }

  /**
   * Lease expiry decides some outcomes without the loop: from now on a
   * takeover uses these limits for tasks enqueued without their own (see AttemptLimits).
   */
  registerTasks(tasks: readonly RegisteredTask[]): void {
    this.limits.register('RedisTaskClient', tasks);
  }

  /** Closes the connections this client made (not a `connection` you passed). Called by Nest at shutdown. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.cancels.close();
      await this.deliveries.close();
      await this.conns.close();
    })();
    return this.closing;
  }

  /** Nest calls this after every `onModuleDestroy()`, so the worker loop has flushed its outcomes by then. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  /** ENQUEUE calls of at most ENQUEUE_PER_CALL tasks, CALLS_PER_PIPELINE calls per round trip; the ids in order. */
  private async insert(tasks: readonly Arg[][]): Promise<string[]> {
    const calls: Arg[][] = [];
    for (let i = 0; i < tasks.length; i += ENQUEUE_PER_CALL) {
      const chunk = tasks.slice(i, i + ENQUEUE_PER_CALL);
      calls.push([GROUP, this.consumer, this.keys.recordPrefix, chunk.length, ...chunk.flat()]);
    }
    const ids: string[] = [];
    for (let i = 0; i < calls.length; i += CALLS_PER_PIPELINE) {
      const replies = await runScriptMany(
        this.conns.command,
        Scripts.enqueue,
        this.keys.scriptKeys,
        calls.slice(i, i + CALLS_PER_PIPELINE),
      );
      for (const reply of replies as string[][]) ids.push(...reply.map(String));
    }
    return ids;
  }

  /** The fetcher found the queue's marker changed: say what this process held of what was lost. */
  private dataLost(): void {
    this.counters.dataLosses++;
    const held = this.leases.holding;
    this.logger.warn(
      Messages.redisDataLost(
        `${this.settings.prefix}:${this.settings.queue}`,
        held.length,
        held.map((task) => task.id),
      ),
    );
  }

  private readonly newId = () => `${this.idPrefix}-${(++this.seq).toString(36)}`;

  private assertOpen(method: string): void {
    if (this.closing) throw new Error(Messages.redisClosed(method));
  }
}
