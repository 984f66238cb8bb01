import { Inject, Injectable, Optional, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Messages } from '../../errors/error-messages.js';
import type { TaskClient, TaskEnvelope, TaskOutcome } from '../../interfaces/task-client.interface.js';
import type { TaskRecord } from '../in-memory.task-client.js';
import { RedisFetcher } from './redis.fetcher.js';
import { toDeadLetter, toRecord, type RedisReceipt } from './redis.codec.js';
import { RedisConnections } from './redis.connections.js';
import { consumerName, GROUP, RedisKeys } from './redis.keys.js';
import { RedisLeases } from './redis.leases.js';
import { errorJson, RedisOps, type Op } from './redis.ops.js';
import { runScript, runScriptMany, Scripts } from './redis.scripts.js';
import {
  REDIS_TASK_CLIENT_OPTIONS,
  type RedisDeadLetter,
  type RedisEnqueueOptions,
  type RedisTaskClientOptions,
  type RedisTaskCounts,
} from './redis-task-client-options.interface.js';
import { resolveRedisOptions, type ResolvedRedisOptions } from './redis-task-client-options.resolver.js';

/** Tasks per ENQUEUE script call, and calls per pipeline: 100k tasks are 200 calls in 4 round trips. */
const ENQUEUE_PER_CALL = 500;
const CALLS_PER_PIPELINE = 50;

/**
 * A durable task source on Redis Streams, shared by any number of processes
 * and machines: producers `enqueue()` from anywhere (with or without Nest),
 * every worker loop pulls from one consumer group, so each entry goes to one
 * consumer at a time. Delivery is at-least-once: a task whose process dies
 * runs again elsewhere once its lease runs out; make handlers idempotent.
 *
 * Layout under `<prefix>:<queue>:` — `stream:high`, `stream`, `stream:low`
 * (priority bands, read high first), `delayed` (sorted set of due times),
 * `dead` (dead letters), `task:<id>` (records), `stats` (counters).
 */
@Injectable()
export class RedisTaskClient implements TaskClient, OnApplicationShutdown {
  readonly leaseMs: number;
  /** This process's consumer name in the group: hostname, pid and a random part. */
  readonly consumer = consumerName();
  readonly keys: RedisKeys;
  private readonly settings: ResolvedRedisOptions;
  private readonly conns: RedisConnections;
  private readonly ops: RedisOps;
  private readonly fetcher: RedisFetcher;
  private readonly leases: RedisLeases;
  private readonly logger: LoggerService;
  private readonly idPrefix = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  private seq = 0;
  private closing?: Promise<void>;

  constructor(@Optional() @Inject(REDIS_TASK_CLIENT_OPTIONS) options?: RedisTaskClientOptions) {
    this.settings = resolveRedisOptions(options ?? {});
    this.leaseMs = this.settings.leaseMs;
    this.logger = this.settings.logger;
    this.keys = new RedisKeys(this.settings.prefix, this.settings.queue);
    this.conns = new RedisConnections(this.settings, this.logger);
    this.ops = new RedisOps(this.conns.command, this.keys, this.consumer, this.settings);
    this.leases = new RedisLeases(this.ops, this.leaseMs);
    this.fetcher = new RedisFetcher(this.conns, this.keys, this.consumer, this.ops, this.leases, this.settings);
    this.conns.onReconnect = () => this.fetcher.connectionDropped();
  }

  /** Outcomes ignored because this process had lost the task to another consumer (fenced). */
  get staleOutcomes(): number {
    return this.ops.staleOutcomes;
  }

  /** The connection for commands, to run your own (it may be the one you passed). */
  get redis() {
    return this.conns.command;
  }

  /** Adds a task; resolves with its id once Redis has it. */
  async enqueue(name: string, payload?: unknown, options: RedisEnqueueOptions = {}): Promise<string> {
    const [id] = await this.enqueueMany([{ ...options, name, payload }]);
    return id!;
  }

  /** Adds many tasks in a few pipelined round trips; resolves with their ids in order. */
  async enqueueMany(
    tasks: ReadonlyArray<{ name: string; payload?: unknown } & RedisEnqueueOptions>,
  ): Promise<string[]> {
    this.assertOpen('enqueue');
    const ids: string[] = [];
    const calls: Array<Array<string | number>> = [];
    let args: Array<string | number> = [];
    const flush = () => {
      if (args.length === 0) return;
      calls.push([GROUP, this.consumer, this.keys.recordPrefix, args.length / 6, ...args]);
      args = [];
    };
    for (const task of tasks) {
      const [id, ...rest] = this.encodeTask(task);
      ids.push(id);
      args.push(id, ...rest);
      if (args.length >= ENQUEUE_PER_CALL * 6) flush();
    }
    flush();
    for (let i = 0; i < calls.length; i += CALLS_PER_PIPELINE) {
      await runScriptMany(
        this.conns.command,
        Scripts.enqueue,
        this.keys.scriptKeys,
        calls.slice(i, i + CALLS_PER_PIPELINE),
      );
    }
    return ids;
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
    const [queued, delayed, running, completed, failed] = (await runScript(
      this.conns.command,
      Scripts.counts,
      this.keys.scriptKeys,
      [GROUP],
    )) as number[];
    return { queued: queued!, delayed: delayed!, running: running!, completed: completed!, failed: failed! };
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

  async publish(outcomes: readonly TaskOutcome[]): Promise<void> {
    const ops: Op[] = [];
    for (const outcome of outcomes) {
      const { task } = outcome;
      const r = task.receipt as RedisReceipt | undefined;
      if (!r || typeof r.entryId !== 'string') continue; // not delivered by a RedisTaskClient: nothing to settle
      const at = [r.band, r.entryId, r.deliveries, task.id, task.attempt] as const;
      switch (outcome.status) {
        case 'completed': {
          let json: string | undefined;
          try {
            json = JSON.stringify(outcome.result);
          } catch (error) {
            this.logger.warn(Messages.redisResultNotJson(task.name, task.id, (error as Error).message));
          }
          ops.push(['completed', ...at, json ?? '', json === undefined ? '0' : '1', '']);
          break;
        }
        case 'failed':
          ops.push(['failed', ...at, outcome.reason, errorJson(outcome.error), '']);
          break;
        case 'retry':
          ops.push([
            'retry',
            ...at,
            outcome.nextAttempt,
            Math.max(0, Math.round(outcome.delayMs)),
            errorJson(outcome.error),
          ]);
          break;
        case 'released':
          ops.push(['released', ...at, '', '', '']);
          break;
      }
    }
    const applied = await this.ops.apply(ops);
    const stale = applied.filter((ok) => !ok).length;
    if (stale > 0) this.ops.noteStale(stale);
    for (const outcome of outcomes) this.leases.forget(outcome.task);
  }

  /**
   * Resets the idle time of the entries this process still holds (XCLAIM
   * JUSTID to itself, fenced): `tasks`, and those whose outcomes wait to be published.
   */
  extendLeases(tasks: readonly TaskEnvelope[]): Promise<void> {
    return this.leases.extend(tasks);
  }

  /** Closes the connections this client made (not a `connection` you passed). Called by Nest at shutdown. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.fetcher.close();
      this.leases.stop();
      await this.conns.close();
    })();
    return this.closing;
  }

  /** Nest calls this after every `onModuleDestroy()`, so the worker loop has flushed its outcomes by then. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  private encodeTask(
    task: { name: string; payload?: unknown } & RedisEnqueueOptions,
  ): [string, string, string, string | number, number, number] {
    const bad = (problem: string) => new TypeError(Messages.redisEnqueue(problem));
    if (typeof task?.name !== 'string' || task.name === '')
      throw bad(`the task name must be a non-empty string, got ${JSON.stringify(task?.name)}`);
    const { delayMs = 0, priority = 0, maxAttempts, id = `${this.idPrefix}-${(++this.seq).toString(36)}` } = task;
    if (typeof id !== 'string' || id === '') throw bad(`"id" must be a non-empty string, got ${JSON.stringify(id)}`);
    if (!Number.isFinite(delayMs) || delayMs < 0)
      throw bad(`"delayMs" must be a number of milliseconds >= 0, got ${String(delayMs)}`);
    if (!Number.isFinite(priority)) throw bad(`"priority" must be a finite number, got ${String(priority)}`);
    if (maxAttempts !== undefined && (!Number.isInteger(maxAttempts) || maxAttempts < 1)) {
      throw bad(`"maxAttempts" must be a positive integer, got ${String(maxAttempts)}`);
    }
    let payload: string;
    try {
      payload = JSON.stringify(task.payload ?? null);
    } catch (error) {
      throw bad(
        `the payload of task "${task.name}" cannot be written as JSON (${(error as Error).message}); pass JSON-compatible data`,
      );
    }
    return [id, task.name, payload, maxAttempts ?? '', priority, Math.round(delayMs)];
  }

  private assertOpen(method: string): void {
    if (this.closing) throw new Error(Messages.redisClosed(method));
  }
}
