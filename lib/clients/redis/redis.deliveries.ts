import type { LoggerService } from '@nestjs/common';
import { sleep } from '../../common/backoff.js';
import { Messages } from '../../errors/error-messages.js';
import { serializeError } from '../../boundary/error.serializer.js';
import { InvalidStreamEntryError, LeaseExpiredError } from '../../errors/worker.errors.js';
import type { TaskEnvelope } from '../../interfaces/task-client.interface.js';
import { errorJson } from '../kit/json.encoder.js';
import { decodeEntry, opOn, type Op, type RawEntry, type RedisReceipt } from './redis.codec.js';
import type { RedisConnections } from './redis.connections.js';
import { GROUP, type Band, type RedisKeys } from './redis.keys.js';
import type { RedisLeases } from './redis.leases.js';
import type { RedisOps } from './redis.ops.js';

/**
 * What happens to delivered entries before the worker loop sees them:
 * decoded and marked running (or dead-lettered), handed back unstarted when
 * nobody will run them, and found again when a lost reply delivered them
 * behind this process's back.
 */
export class RedisDeliveries {
  private readonly background = new Set<Promise<unknown>>();
  /** Set when deliveries may have been lost with a connection; the next fetch looks for them first. */
  orphanCheck = false;

  constructor(
    private readonly conns: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly consumer: string,
    private readonly ops: RedisOps,
    private readonly leases: RedisLeases,
    private readonly settings: { leaseMs: number; logger: LoggerService },
  ) {}

  /**
   * Validates delivered entries and marks the good ones running. Undecodable
   * entries go to the dead-letter stream at once (never to the loop, never
   * retried). An entry delivered again after lost leases is a takeover: the
   * script records the lost attempt's error and runs it, or dead-letters it
   * as a crash when that was its last attempt.
   */
  async accept(entries: readonly RawEntry[]): Promise<TaskEnvelope[]> {
    const ops: Op[] = [];
    const runs: Array<{ task: TaskEnvelope & { receipt: RedisReceipt }; op: number }> = [];
    for (const raw of entries) {
      const decoded = decodeEntry(raw);
      if (!decoded.ok) {
        const { receipt: r, taskId, name, problem } = decoded;
        const error = new InvalidStreamEntryError(r.entryId, taskId, name, this.keys.streams[r.band], problem);
        this.settings.logger.warn(error.message);
        ops.push(opOn('failed', r, taskId, r.deliveries, 'invalid-payload', errorJson(serializeError(error))));
        continue;
      }
      const { envelope: task, entryAttempt } = decoded;
      runs.push({ task, op: ops.length });
      if (task.attempt === entryAttempt) {
        ops.push(opOn('run', task.receipt, task.id, task.attempt));
        continue;
      }
      const lost = serializeError(new LeaseExpiredError(task.name, task.attempt - 1, this.settings.leaseMs));
      ops.push(
        opOn('takeover', task.receipt, task.id, task.attempt, errorJson(lost), task.maxAttempts ?? '', task.name),
      );
    }
    const applied = await this.ops.apply(ops);
    const tasks: TaskEnvelope[] = [];
    for (const { task, op } of runs) {
      if (applied[op] === 'applied') {
        this.leases.add(task);
        tasks.push(task);
      } else if (applied[op] === 'dead') {
        this.settings.logger.warn(Messages.redisLeaseAttemptsExhausted(task.name, task.id, task.attempt - 1));
      }
    }
    return tasks;
  }

  /** Gives delivered tasks back unstarted, same attempt, at the end of their stream. */
  async release(tasks: readonly TaskEnvelope[]): Promise<void> {
    const ops = tasks.map((task) => opOn('released', task.receipt as RedisReceipt, task.id, task.attempt));
    try {
      await this.ops.apply(ops);
    } finally {
      // Even when that failed: no longer ours to extend; orphan recovery or lease expiry brings them back.
      for (const task of tasks) this.leases.forget(task);
    }
  }

  /** Entries pending for this consumer that no loop holds: delivered by a reply that never arrived. */
  async recoverOrphans(): Promise<void> {
    this.orphanCheck = false;
    try {
      const cmd = this.conns.command;
      const pending = cmd.pipeline();
      for (const stream of this.keys.streams) pending.xpending(stream, GROUP, '-', '+', 1000, this.consumer);
      const lists = ((await pending.exec()) ?? []).map(([error, list]) =>
        error ? [] : (list as Array<[string, string, number, number]>),
      );
      const orphans = lists.flatMap((list, band) =>
        list
          .filter(([id]) => !this.leases.has(band, id))
          .map(([id, , , deliveries]) => ({ band: band as Band, id, deliveries })),
      );
      if (orphans.length === 0) return;
      const ranges = cmd.pipeline();
      for (const o of orphans) ranges.xrange(this.keys.streams[o.band], o.id, o.id);
      const found = ((await ranges.exec()) ?? []).map(
        ([, entries]) => (entries as Array<[string, string[]]> | null)?.[0],
      );
      const entries = orphans.flatMap((o, i): RawEntry[] =>
        found[i] ? [[o.band, o.id, o.deliveries, found[i]![1]]] : [],
      );
      await this.release(await this.accept(entries));
    } catch (error) {
      this.orphanCheck = true;
      throw error;
    }
  }

  /** A read fetch gave up on: whatever it delivers is accepted (bad entries dead-lettered) and released. */
  releaseLater(entries: Promise<readonly RawEntry[]>): void {
    this.track(entries.then((list) => (list.length ? this.accept(list) : [])).then((tasks) => this.release(tasks)));
  }

  /** Work that goes on after fetch() returned; a failure means deliveries may be stranded with this consumer. */
  track(work: Promise<unknown>): void {
    const tracked = work.catch(() => {
      // The connection is gone: those entries come back when their lease runs out.
      this.orphanCheck = true;
    });
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /** Waits for work started in the background (late replies being released), at most 3 s. */
  async close(): Promise<void> {
    const done = new AbortController();
    await Promise.race([Promise.allSettled([...this.background]), sleep(3000, done.signal)]);
    done.abort(); // clears the timer, which would otherwise hold the process up to 3 s
  }
}
