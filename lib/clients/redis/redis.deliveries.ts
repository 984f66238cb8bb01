import type { LoggerService } from '@nestjs/common';
import { sleep } from '../../common/backoff.js';
import { Messages } from '../../errors/error-messages.js';
import { serializeError } from '../../boundary/error.serializer.js';
import { InvalidStreamEntryError } from '../../errors/worker.errors.js';
import type { TaskEnvelope } from '../../interfaces/task-client.interface.js';
import { errorJson } from '../kit/json.encoder.js';
import type { RedisTaskClientStats } from './redis-task-client-options.interface.js';
import { decodeEntry, leaseExpiredTemplate, opOn, type Op, type RawEntry, type RedisReceipt } from './redis.codec.js';
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
    private readonly counters: Pick<RedisTaskClientStats, 'expiredLeases' | 'unchargedExpiries' | 'invalidEntries'>,
  ) {}

  /**
   * Validates delivered entries and marks the good ones running. Undecodable
   * entries go to the dead-letter stream at once (never to the loop, never
   * retried). An entry delivered again after lost leases is a takeover: the
   * script decides its attempt (a lost delivery that had started counts as
   * one) and runs it, or dead-letters it as a crash when it is out of attempts.
   */
  async accept(entries: readonly RawEntry[]): Promise<TaskEnvelope[]> {
    const ops: Op[] = [];
    const runs: Array<{ task: TaskEnvelope & { receipt: RedisReceipt }; op: number }> = [];
    const invalid: Array<{ error: InvalidStreamEntryError; op: number }> = [];
    for (const raw of entries) {
      const decoded = decodeEntry(raw);
      if (!decoded.ok) {
        const { receipt: r, taskId, name, problem } = decoded;
        const error = new InvalidStreamEntryError(r.entryId, taskId, name, this.keys.streams[r.band], problem);
        invalid.push({ error, op: ops.length });
        ops.push(opOn('failed', r, taskId, r.deliveries, 'invalid-payload', errorJson(serializeError(error))));
        continue;
      }
      const { envelope: task } = decoded;
      runs.push({ task, op: ops.length });
      if (task.receipt.deliveries === 1) {
        ops.push(opOn('run', task.receipt, task.id, task.attempt));
      } else {
        const lost = leaseExpiredTemplate(task.name, this.settings.leaseMs);
        ops.push(opOn('takeover', task.receipt, task.id, task.attempt, lost, task.maxAttempts ?? '', task.name));
      }
    }
    const applied = await this.ops.apply(ops);
    const { logger } = this.settings;
    for (const { error, op } of invalid) {
      const result = applied[op]!;
      if (result.status === 'failed') this.refused(error.entryId, error.taskId, error.taskName, result.problem);
      else if (result.status === 'applied') {
        this.counters.invalidEntries++;
        logger.warn(error.message);
      }
    }
    const tasks: TaskEnvelope[] = [];
    for (const { task, op } of runs) {
      const result = applied[op]!;
      if (result.status === 'failed') {
        this.refused(task.receipt.entryId, task.id, task.name, result.problem);
        continue;
      }
      if (result.status !== 'applied' && result.status !== 'uncharged' && result.status !== 'dead') continue;
      if (task.receipt.deliveries > 1) {
        this.counters.expiredLeases++;
        if (result.status === 'uncharged') this.counters.unchargedExpiries++;
      }
      if (result.status === 'dead') {
        logger.warn(Messages.redisLeaseAttemptsExhausted(task.name, task.id, result.attempt, result.lost));
        continue;
      }
      const delivered = { ...task, attempt: result.attempt };
      this.leases.add(delivered);
      tasks.push(delivered);
    }
    return tasks;
  }

  private refused(entryId: string, taskId: string, name: string, problem: string): void {
    this.counters.invalidEntries++;
    this.settings.logger.warn(Messages.redisEntryRefused(entryId, taskId, name, problem));
  }

  /** Records that these deliveries reached a worker thread: from now on a lost lease charges them an attempt. */
  async markStarted(tasks: readonly TaskEnvelope[]): Promise<void> {
    const ops: Op[] = [];
    for (const task of tasks) {
      const r = task.receipt as RedisReceipt | undefined;
      if (r && typeof r.entryId === 'string') ops.push(opOn('started', r, task.id, task.attempt));
    }
    await this.ops.apply(ops);
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
          .filter(([id, , , deliveries]) => !this.leases.has(band, id, deliveries))
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
