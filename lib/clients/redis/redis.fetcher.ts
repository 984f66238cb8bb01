import { randomBytes } from 'node:crypto';
import { sleep } from '../../common/backoff.js';
import type { TaskEnvelope } from '../../interfaces/task-client.interface.js';
import type { RawEntry } from './redis.codec.js';
import { runScript, Scripts } from './redis.commands.js';
import type { RedisConnections } from './redis.connections.js';
import type { RedisDeliveries } from './redis.deliveries.js';
import { GROUP, type Band, type RedisKeys } from './redis.keys.js';
import { noop, untilAbandoned } from './redis.abort.js';
import { streamsOf } from './redis.replies.js';

/** Delayed tasks promoted per fetch round trip (more wait for the next one, which comes at once). */
const PROMOTE_PER_FETCH = 1000;
const UNBLOCK_EVERY_MS = 50;
/** Consumers holding nothing and idle this long are removed from the group, checked this often. */
const FORGET_CONSUMERS_IDLE_MS = 3_600_000;
const FORGET_CONSUMERS_EVERY_MS = 600_000;
/**
 * Part of the lease after which a delivery that never started is taken over
 * from a consumer that extends its leases and has extended none that long.
 * The worker loop extends every leaseMs / 3, so a live one is never that
 * late; a late one died or stalled, and as nothing of the delivery ran,
 * nothing is lost by moving it early.
 */
const UNSTARTED_CLAIM_FRACTION = 0.5;

/**
 * The consumer side: long-polls the streams, takes over expired leases,
 * promotes due delayed tasks, and hands what it got to RedisDeliveries.
 * `fetch()` returns only with tasks, on abort, or with an error (the loop
 * then backs off): an idle consumer sits in a BLOCK, so a new task is picked
 * up at once.
 */
export class RedisFetcher {
  private readonly claimEveryMs: number;
  private readonly unstartedClaimMs: number;
  private cursors = ['0-0', '0-0', '0-0'];
  private nextClaimAt = 0;
  private nextForgetAt = Date.now() + 60_000;
  private groupReady?: Promise<void>;
  /** The queue's marker as this client first saw it (see RedisKeys.epoch). */
  private epoch?: string;
  /** Called when the queue's marker changed or vanished: the server lost the queue's data. */
  onDataLost?: () => void;

  constructor(
    private readonly conns: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly consumer: string,
    private readonly deliveries: RedisDeliveries,
    private readonly settings: { leaseMs: number; blockMs: number },
  ) {
    this.claimEveryMs = Math.min(5000, Math.max(50, Math.floor(settings.leaseMs / 4)));
    this.unstartedClaimMs = Math.floor(settings.leaseMs * UNSTARTED_CLAIM_FRACTION);
  }

  /**
   * A connection came back: replies lost with the old one may have delivered
   * entries to this consumer that no loop knows about. The next fetch gives
   * them back at once instead of leaving them to lease expiry (which would
   * count an attempt that never ran).
   */
  connectionDropped(): void {
    this.deliveries.orphanCheck = true;
    // The server may have come back without its data: look before the next read.
    this.groupReady = undefined;
  }

  async fetch(max: number, signal: AbortSignal): Promise<readonly TaskEnvelope[]> {
    let regrouped = false;
    try {
      while (!signal.aborted) {
        if (!(await untilAbandoned(this.ensureGroup(), signal))) return [];
        if (this.deliveries.orphanCheck && !(await untilAbandoned(this.deliveries.recoverOrphans(), signal))) return [];
        const claim = Date.now() >= this.nextClaimAt;
        const round = this.fetchRound(max, claim);
        const got = await untilAbandoned(
          round.catch((error: unknown) => {
            // The group vanished (the server lost its data): make it again, once, before failing the fetch.
            if (regrouped || !/NOGROUP/.test((error as Error)?.message ?? '')) throw error;
            regrouped = true;
            this.groupReady = undefined;
            return undefined;
          }),
          signal,
        );
        if (!got) {
          this.deliveries.releaseLater(round.then((r) => r.entries));
          return [];
        }
        if (!got.value) continue;
        const { entries, nextDue, serverNow, cursors } = got.value;
        if (claim) {
          this.cursors = cursors;
          // A round that took over as many as asked may have left more (a dead consumer's whole
          // prefetch): the next fetch looks again instead of reading newer entries a period long.
          const claimed = entries.filter(([, , deliveries]) => deliveries > 1).length;
          this.nextClaimAt = claimed >= max ? 0 : Date.now() + this.claimEveryMs;
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
        const accepted = this.deliveries.accept(entries);
        const tasks = await untilAbandoned(accepted, signal);
        if (!tasks) {
          this.deliveries.track(accepted.then((t) => this.deliveries.release(t)));
          return [];
        }
        // Tasks fetched after an abort are fine: the loop releases them through publish().
        if (tasks.value.length > 0) return tasks.value;
      }
      return [];
    } catch (error) {
      // The server may have lost the group (a restart without persistence, a FLUSHALL): look again next time.
      this.groupReady = undefined;
      throw error;
    }
  }

  private forgetDeadConsumers(): void {
    this.nextForgetAt = Date.now() + FORGET_CONSUMERS_EVERY_MS;
    const args = [GROUP, this.consumer, this.keys.recordPrefix, FORGET_CONSUMERS_IDLE_MS];
    this.deliveries.track(runScript(this.conns.command, Scripts.forgetConsumers, this.keys.scriptKeys, args));
  }

  /**
   * Makes the consumer group (again, if the server lost it) and reads the
   * queue's marker: a random token the first consumer writes. A marker other
   * than the one this client saw before means the data it knew is gone.
   */
  private ensureGroup(): Promise<void> {
    if (!this.groupReady) {
      // Start at id 0: tasks enqueued before any consumer existed are read too.
      const pipeline = this.conns.command.pipeline();
      for (const stream of this.keys.streams) pipeline.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
      // A new token each time: one this client wrote before the data was lost must not come back.
      pipeline.set(this.keys.epoch, randomBytes(8).toString('hex'), 'NX');
      pipeline.get(this.keys.epoch);
      const ready = pipeline.exec().then((replies) => {
        const list = replies ?? [];
        for (const [error] of list.slice(0, 3)) if (error && !/BUSYGROUP/.test(error.message)) throw error;
        const [markError, marker] = list[4] ?? [];
        if (markError) throw markError;
        if (this.epoch !== undefined && marker !== this.epoch) this.onDataLost?.();
        this.epoch = marker as string;
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
      this.unstartedClaimMs,
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
      ) as Promise<unknown>
    ).then((reply) =>
      streamsOf(reply)
        .flatMap(([key, list]) => list.map(([id, fields]): RawEntry => [streams.indexOf(key) as Band, id, 1, fields]))
        .sort((a, b) => a[0] - b[0]),
    );
    const got = await untilAbandoned(read, signal, () => this.unblock(clientId, read));
    if (!got) {
      this.deliveries.releaseLater(read);
      return [];
    }
    // Several streams with entries answer together, each up to COUNT: give the surplus back.
    if (got.value.length > max) this.deliveries.releaseLater(Promise.resolve(got.value.splice(max)));
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
}
