import type { LoggerService } from '@nestjs/common';
import { Messages } from '../../errors/error-messages.js';
import { serializeError } from '../../boundary/error.serializer.js';
import { InvalidStreamEntryError, LeaseExpiredError } from '../../errors/worker.errors.js';
import type { TaskEnvelope } from '../../interfaces/task-client.interface.js';
import { decodeEntry, type RawEntry, type RedisReceipt } from './redis.codec.js';
import type { RedisConnections } from './redis.connections.js';
import { GROUP, type Band, type RedisKeys } from './redis.keys.js';
import type { RedisLeases } from './redis.leases.js';
import { errorJson, type Op, type RedisOps } from './redis.ops.js';
import { noop, sleep, untilAbandoned } from './redis.abort.js';
import { runScript, Scripts } from './redis.scripts.js';

/** Delayed tasks promoted per fetch round trip (more wait for the next one, which comes at once). */
const PROMOTE_PER_FETCH = 1000;
const UNBLOCK_EVERY_MS = 50;
/** Consumers holding nothing and idle this long are removed from the group, checked this often. */
const FORGET_CONSUMERS_IDLE_MS = 3_600_000;
const FORGET_CONSUMERS_EVERY_MS = 600_000;

interface Settings {
  leaseMs: number;
  blockMs: number;
  maxAttempts: number;
  logger: LoggerService;
}

/**
 * The consumer side: long-polls the streams, takes over expired leases,
 * promotes due delayed tasks, and turns entries into envelopes. `fetch()`
 * returns only with tasks, on abort, or with an error (the loop then backs
 * off): an idle consumer sits in a BLOCK, so a new task is picked up at once.
 */
export class RedisFetcher {
  private readonly background = new Set<Promise<unknown>>();
  private readonly claimEveryMs: number;
  private cursors = ['0-0', '0-0', '0-0'];
  private nextClaimAt = 0;
  private nextForgetAt = Date.now() + 60_000;
  private orphanCheck = false;
  private groupReady?: Promise<void>;

  constructor(
    private readonly conns: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly consumer: string,
    private readonly ops: RedisOps,
    private readonly leases: RedisLeases,
    private readonly settings: Settings,
  ) {
    this.claimEveryMs = Math.min(5000, Math.max(50, Math.floor(settings.leaseMs / 4)));
  }

  /**
   * A connection came back: replies lost with the old one may have delivered
   * entries to this consumer that no loop knows about. The next fetch gives
   * them back at once instead of leaving them to lease expiry (which would
   * count an attempt that never ran).
   */
  connectionDropped(): void {
    this.orphanCheck = true;
  }

  async fetch(max: number, signal: AbortSignal): Promise<readonly TaskEnvelope[]> {
    try {
      while (!signal.aborted) {
        if (!(await untilAbandoned(this.ensureGroup(), signal))) return [];
        if (this.orphanCheck && !(await untilAbandoned(this.recoverOrphans(), signal))) return [];
        const claim = Date.now() >= this.nextClaimAt;
        const round = this.fetchRound(max, claim);
        const got = await untilAbandoned(round, signal);
        if (!got) {
          this.releaseLater(round.then((r) => r.entries));
          return [];
        }
        const { entries, nextDue, serverNow, cursors } = got.value;
        if (claim) {
          this.cursors = cursors;
          this.nextClaimAt = Date.now() + this.claimEveryMs;
          if (Date.now() >= this.nextForgetAt) this.forgetDeadConsumers();
        }
        if (entries.length === 0) {
          // Sleep in a BLOCK, but wake for the next due delayed task or claim round.
          const wait = Math.min(
            this.settings.blockMs,
            nextDue === undefined ? Infinity : nextDue - serverNow,
            this.nextClaimAt - Date.now(),
          );
          if (wait < 1 || signal.aborted) continue;
          entries.push(...(await this.blockingRead(max, Math.ceil(wait), signal)));
          if (entries.length === 0) continue;
        }
        const accepted = this.accept(entries);
        const tasks = await untilAbandoned(accepted, signal);
        if (!tasks) {
          this.track(accepted.then((t) => this.release(t)));
          return [];
        }
        // Tasks fetched after an abort are fine: the loop releases them through publish().
        if (tasks.value.length > 0) return tasks.value;
      }
      return [];
    } catch (error) {
      // The server lost the group (a restart without persistence, a FLUSHALL): make it again next time.
      if (/NOGROUP/.test((error as Error)?.message ?? '')) this.groupReady = undefined;
      throw error;
    }
  }

  /** Waits for work started in the background (late replies being released), at most 3 s. */
  async close(): Promise<void> {
    await Promise.race([Promise.allSettled([...this.background]), sleep(3000)]);
  }

  private forgetDeadConsumers(): void {
    this.nextForgetAt = Date.now() + FORGET_CONSUMERS_EVERY_MS;
    const args = [GROUP, this.consumer, this.keys.recordPrefix, FORGET_CONSUMERS_IDLE_MS];
    this.track(runScript(this.conns.command, Scripts.forgetConsumers, this.keys.scriptKeys, args));
  }

  private ensureGroup(): Promise<void> {
    if (!this.groupReady) {
      // Start at id 0: tasks enqueued before any consumer existed are read too.
      const pipeline = this.conns.command.pipeline();
      for (const stream of this.keys.streams) pipeline.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
      const ready = pipeline.exec().then((replies) => {
        for (const [error] of replies ?? []) if (error && !/BUSYGROUP/.test(error.message)) throw error;
      });
      ready.catch(() => (this.groupReady = undefined));
      this.groupReady = ready;
    }
    return this.groupReady;
  }

  private async fetchRound(max: number, claim: boolean) {
    const args = [
      GROUP,
      this.consumer,
      this.keys.recordPrefix,
      max,
      PROMOTE_PER_FETCH,
      claim ? 1 : 0,
      this.settings.leaseMs,
      ...this.cursors,
    ];
    const [nextDue, cursors, raw, serverNow] = (await runScript(
      this.conns.command,
      Scripts.fetch,
      this.keys.scriptKeys,
      args,
    )) as [string, string[], Array<[number, string, number, string[]]>, string];
    return {
      nextDue: nextDue === '' ? undefined : Number(nextDue),
      serverNow: Number(serverNow),
      cursors,
      entries: raw.map(([band, id, deliveries, fields]): RawEntry => [(band - 1) as Band, id, deliveries, fields]),
    };
  }

  /**
   * XREADGROUP BLOCK on the dedicated connection. On abort, CLIENT UNBLOCK
   * (from the command connection) ends the BLOCK without losing anything; it
   * is repeated because it may reach the server before the read does.
   */
  private async blockingRead(max: number, ms: number, signal: AbortSignal): Promise<RawEntry[]> {
    const conn = this.conns.blocking;
    const clientId = conn.call('CLIENT', 'ID') as Promise<number>;
    clientId.catch(noop);
    const streams = this.keys.streams;
    const read = (
      conn.call(
        'XREADGROUP',
        'GROUP',
        GROUP,
        this.consumer,
        'COUNT',
        max,
        'BLOCK',
        ms,
        'STREAMS',
        ...streams,
        '>',
        '>',
        '>',
      ) as Promise<Array<[string, Array<[string, string[]]>]> | null>
    ).then((reply) =>
      (reply ?? [])
        .map(([key, list]) => list.map(([id, fields]): RawEntry => [streams.indexOf(key) as Band, id, 1, fields]))
        .flat()
        .sort((a, b) => a[0] - b[0]),
    );
    const got = await untilAbandoned(read, signal, () => this.unblock(clientId, read));
    if (!got) {
      this.releaseLater(read);
      return [];
    }
    // Several streams with entries answer together, each up to COUNT: give the surplus back.
    if (got.value.length > max) this.releaseLater(Promise.resolve(got.value.splice(max)));
    return got.value;
  }

  private unblock(clientId: Promise<number>, read: Promise<unknown>): void {
    let settled = false;
    read.then(
      () => (settled = true),
      () => (settled = true),
    );
    void (async () => {
      const id = await clientId;
      for (let i = 0; i < 20 && !settled; i++) {
        await this.conns.command.call('CLIENT', 'UNBLOCK', id).catch(noop);
        await sleep(UNBLOCK_EVERY_MS);
      }
    })().catch(noop);
  }

  /**
   * Validates delivered entries and marks the good ones running. Undecodable
   * entries go to the dead-letter stream at once (never to the loop, never
   * retried). A taken-over entry records the lost attempt's error, or is
   * dead-lettered when that was its last attempt.
   */
  private async accept(entries: readonly RawEntry[]): Promise<TaskEnvelope[]> {
    const ops: Op[] = [];
    const runs: Array<{ task: TaskEnvelope & { receipt: RedisReceipt }; op: number }> = [];
    for (const raw of entries) {
      const decoded = decodeEntry(raw);
      if (!decoded.ok) {
        const { receipt: r, taskId, name, problem } = decoded;
        const error = new InvalidStreamEntryError(r.entryId, taskId, name, this.keys.streams[r.band], problem);
        this.settings.logger.warn(error.message);
        ops.push([
          'failed',
          r.band,
          r.entryId,
          r.deliveries,
          taskId,
          r.deliveries,
          'invalid-payload',
          errorJson(serializeError(error)),
          '',
        ]);
        continue;
      }
      const { envelope: task, entryAttempt } = decoded;
      const r = task.receipt;
      let leaseError = '';
      if (task.attempt > entryAttempt) {
        const lost = task.attempt - 1;
        leaseError = errorJson(serializeError(new LeaseExpiredError(task.name, lost, this.settings.leaseMs)));
        if (task.attempt > (task.maxAttempts ?? this.settings.maxAttempts)) {
          this.settings.logger.warn(Messages.redisLeaseAttemptsExhausted(task.name, task.id, lost));
          ops.push(['failed', r.band, r.entryId, r.deliveries, task.id, lost, 'crash', leaseError, '']);
          continue;
        }
      }
      runs.push({ task, op: ops.length });
      ops.push(['run', r.band, r.entryId, r.deliveries, task.id, task.attempt, leaseError, '', '']);
    }
    const applied = await this.ops.apply(ops);
    const tasks = runs.filter(({ op }) => applied[op]).map(({ task }) => task);
    for (const task of tasks) this.leases.add(task);
    return tasks;
  }

  /** Entries pending for this consumer that no loop holds: delivered by a reply that never arrived. */
  private async recoverOrphans(): Promise<void> {
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

  /** Gives delivered tasks back unstarted, same attempt, at the end of their stream. */
  private async release(tasks: readonly TaskEnvelope[]): Promise<void> {
    const ops = tasks.map((task): Op => {
      const r = task.receipt as RedisReceipt;
      return ['released', r.band, r.entryId, r.deliveries, task.id, task.attempt, '', '', ''];
    });
    try {
      await this.ops.apply(ops);
    } finally {
      // Even when that failed: no longer ours to extend; orphan recovery or lease expiry brings them back.
      for (const task of tasks) this.leases.forget(task);
    }
  }

  /** A read fetch gave up on: whatever it delivers is accepted (bad entries dead-lettered) and released. */
  private releaseLater(entries: Promise<readonly RawEntry[]>): void {
    this.track(entries.then((list) => (list.length ? this.accept(list) : [])).then((tasks) => this.release(tasks)));
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch(() => {
      // The connection is gone: those entries come back when their lease runs out.
      this.orphanCheck = true;
    });
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }
}
