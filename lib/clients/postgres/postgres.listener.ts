import type { LoggerService } from '@nestjs/common';
import type { Notification, Pool, PoolClient } from 'pg';
import { Backoff, MAX_TIMER_MS } from '../../common/backoff.js';
import { Messages } from '../../errors/error-messages.js';
import { RECONNECT_BACKOFF } from '../kit/reconnect.backoff.js';

const HEALTH_CHECK_MS = 30_000;
const MAX_DUE = 1000;

/**
 * The `LISTEN` side: one connection of the pool kept out of it for as long as
 * somebody watches, turning notifications for one queue into wake-ups, and
 * cancel notices (a second channel on the same connection) into `onCancel`.
 *
 * A connection that breaks (server restart, network) is replaced with a
 * growing pause, and every (re)connect wakes the watchers once: tasks
 * inserted while nobody listened sent notifications nobody got. A periodic
 * `SELECT 1` catches a connection that died silently (no RST), which a
 * LISTEN-only socket would otherwise never notice.
 */
export class PostgresListener {
  private client?: PoolClient;
  private stopped = true;
  private connecting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private readonly retries = new Backoff(RECONNECT_BACKOFF);
  private healthTimer?: NodeJS.Timeout;
  private dueTimer?: NodeJS.Timeout;
  private armedAt?: number;
  private due: number[] = [];
  private failing = false;

  constructor(
    private readonly pool: Pool,
    private readonly listenSql: string,
    private readonly channel: string,
    private readonly queue: string,
    private readonly wake: () => void,
    private readonly logger: LoggerService,
    /** Channel of cancel notices (`{ queue, ids }`), and who hears them. */
    private readonly cancelChannel?: string,
    private readonly onCancel?: (ids: readonly string[]) => void,
  ) {}

  /** True while a connection is LISTENing. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.dueTimer);
    clearInterval(this.healthTimer);
    this.due = [];
    this.armedAt = undefined;
    await this.connecting?.catch(() => undefined);
    this.drop(undefined);
  }

  private connect(): void {
    if (this.stopped || this.connecting || this.client) return;
    this.connecting = this.open().finally(() => (this.connecting = undefined));
  }

  private async open(): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      client.on('error', this.onError);
      client.on('end', this.onEnd);
      client.on('notification', this.onNotification);
      await client.query(this.listenSql);
    } catch (error) {
      if (client) this.detach(client, error as Error);
      this.scheduleRetry(error as Error);
      return;
    }
    if (this.stopped) {
      this.detach(client, undefined);
      return;
    }
    this.client = client;
    this.retries.reset();
    if (this.failing) {
      this.failing = false;
      this.logger.log?.(`PostgresTaskClient LISTEN connection is back (channel "${this.channel}").`);
    }
    this.healthTimer = setInterval(() => {
      this.client?.query('SELECT 1').catch((error: Error) => this.onError(error));
    }, HEALTH_CHECK_MS);
    this.healthTimer.unref();
    this.wake();
  }

  private readonly onNotification = (message: Notification): void => {
    if (message.channel === this.cancelChannel && message.payload) {
      this.onCancelNotice(message.payload);
      return;
    }
    if (message.channel !== this.channel || !message.payload) return;
    let note: { queue?: unknown; delayMs?: unknown };
    try {
      note = JSON.parse(message.payload);
    } catch {
      return; // someone else's NOTIFY on our channel
    }
    if (note.queue !== this.queue) return;
    const delayMs = typeof note.delayMs === 'number' && note.delayMs > 0 ? note.delayMs : 0;
    if (delayMs === 0) {
      this.wake();
      return;
    }
    // A delayed task or a retry with backoff: wake when it is due, so it does
    // not wait for the idle loop's next poll. The delay was measured from the
    // transaction's start, before this message was sent, so waking then is
    // never early on the database clock (10 ms added for timers that fire a
    // little early).
    this.addDue(Date.now() + delayMs + 10);
  };

  private onCancelNotice(payload: string): void {
    let note: { queue?: unknown; ids?: unknown };
    try {
      note = JSON.parse(payload);
    } catch {
      return; // someone else's NOTIFY on our channel
    }
    if (note.queue !== this.queue || !Array.isArray(note.ids)) return;
    const ids = note.ids.filter((id): id is string => typeof id === 'string');
    if (ids.length > 0) this.onCancel?.(ids);
  }

  /** Due times ahead (sorted, bounded; polling covers any dropped), with one timer armed for the first. */
  private addDue(at: number): void {
    // A wake due at most 20 ms after this one serves it too.
    if (this.due.length >= MAX_DUE || this.due.some((t) => t >= at && t - at < 20)) return;
    this.due.push(at);
    this.due.sort((a, b) => a - b);
    this.armDue();
  }

  private armDue(): void {
    const first = this.due[0];
    if (first === undefined || first === this.armedAt) return;
    clearTimeout(this.dueTimer);
    this.armedAt = first;
    // A task delayed past 2^31 ms (24.8 days) is due later than setTimeout
    // can wait: Node would fire after 1 ms instead, and every consumer of the
    // queue would wake and fetch in a busy loop. Wait the longest a timer
    // can, then look again.
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, first - Date.now()));
    this.dueTimer = setTimeout(() => {
      this.armedAt = undefined;
      const now = Date.now();
      let due = false;
      while (this.due.length > 0 && this.due[0]! <= now) {
        this.due.shift();
        due = true;
      }
      if (due) this.wake();
      this.armDue();
    }, wait);
    this.dueTimer.unref();
  }

  private readonly onError = (error: Error): void => {
    const client = this.client;
    if (!client) return;
    this.drop(error);
    this.scheduleRetry(error);
  };

  private readonly onEnd = (): void => {
    if (this.client) this.onError(new Error('the connection ended'));
  };

  private scheduleRetry(error: Error): void {
    if (this.stopped) return;
    if (!this.failing) {
      this.failing = true;
      this.logger.warn(Messages.pgConnectionError('LISTEN', error.message));
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.retries.next());
    this.retryTimer.unref();
  }

  /** Gives the connection back to the pool destroyed: a LISTENing session must not be reused for queries. */
  private drop(error: Error | undefined): void {
    clearInterval(this.healthTimer);
    const client = this.client;
    this.client = undefined;
    if (client) this.detach(client, error);
  }

  private detach(client: PoolClient, error: Error | undefined): void {
    client.off('notification', this.onNotification);
    client.off('end', this.onEnd);
    // Keep a no-op error listener: a late 'error' on a client with none crashes the process.
    client.off('error', this.onError);
    client.on('error', () => undefined);
    try {
      client.release(error ?? true);
    } catch {
      // released twice (the pool already dropped it): nothing to do
    }
  }
}
