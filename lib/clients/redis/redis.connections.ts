import type { LoggerService } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import { backoffDelay } from '../../common/backoff.js';
import { Messages } from '../../errors/error-messages.js';
import { packageRequire } from '../../internal/package-location.js';
import { RedisDependencyError } from '../../errors/worker.errors.js';
import { RECONNECT_BACKOFF } from '../kit/reconnect.backoff.js';
import { defineScripts } from './redis.commands.js';

type RedisClass = new (url: string, options: RedisOptions) => Redis;
let loaded: RedisClass | undefined;

/** ioredis is an optional peer: loaded on first use, so the package loads without it. */
function loadIoredis(): RedisClass {
  if (loaded) return loaded;
  try {
    const mod = packageRequire('ioredis') as RedisClass & { default?: RedisClass; Redis?: RedisClass };
    loaded = mod.Redis ?? mod.default ?? mod;
    return loaded;
  } catch (error) {
    throw new RedisDependencyError((error as Error)?.message ?? String(error), { cause: error });
  }
}

/**
 * The client's two connections: commands (possibly the caller's), and the
 * blocking reads (always ours: a BLOCK holds its connection, so it must never
 * be one that publishes or extends leases meanwhile).
 */
export class RedisConnections {
  readonly command: Redis;
  private blockingConn?: Redis;
  private readonly ownsCommand: boolean;
  private readonly lastErrorLog = new WeakMap<Redis, number>();
  private readonly listeners: Array<() => void> = [];
  private readonly subscribers = new Set<Redis>();
  /** Called when a connection is ready again after a drop (replies in flight were lost). */
  onReconnect?: () => void;

  constructor(
    options: { connection?: Redis; url: string; redisOptions: RedisOptions },
    private readonly logger: LoggerService,
  ) {
    if (options.connection) {
      this.command = options.connection;
      this.ownsCommand = false;
      this.watch(this.command, 'command', false);
    } else {
      const Redis = loadIoredis();
      this.command = new Redis(options.url, {
        retryStrategy: (times: number) => backoffDelay(times, RECONNECT_BACKOFF),
        ...options.redisOptions,
        lazyConnect: false,
      });
      this.ownsCommand = true;
      this.watch(this.command, 'command', true);
    }
    defineScripts(this.command);
  }

  /**
   * The blocking connection, made on first fetch (producers never need it).
   * A drop fails its pending read at once (no offline resend: a resent
   * XREADGROUP could deliver entries nobody waits for any more); fetch then
   * fails, and the loop logs and backs off while ioredis reconnects (with the
   * command connection's retryStrategy: ours, or the one you configured).
   */
  get blocking(): Redis {
    if (!this.blockingConn) {
      this.blockingConn = this.command.duplicate({
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        lazyConnect: false,
      });
      this.watch(this.blockingConn, 'blocking', true);
    }
    return this.blockingConn;
  }

  /**
   * A connection of its own for pub/sub (one in subscriber mode can run
   * nothing else), made from the command connection's settings; ioredis
   * subscribes again after a reconnect. Closed by `close()` if still open.
   */
  subscriber(): Redis {
    const conn = this.command.duplicate({ lazyConnect: false });
    this.subscribers.add(conn);
    conn.once('end', () => this.subscribers.delete(conn));
    this.watch(conn, 'subscriber', true);
    return conn;
  }

  /** Closes the connections this client made; the caller's `connection` stays open. */
  async close(): Promise<void> {
    for (const off of this.listeners.splice(0)) off();
    for (const conn of this.subscribers) conn.disconnect();
    // A pending BLOCK would hold QUIT back: drop the blocking connection outright.
    this.blockingConn?.disconnect();
    if (this.ownsCommand && this.command.status !== 'end') {
      const ended = new Promise((resolve) => this.command.once('end', resolve));
      // QUIT lets commands already sent (last releases, outcomes) finish first.
      await Promise.race([this.command.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
      this.command.disconnect();
      await Promise.race([ended, new Promise((r) => setTimeout(r, 1000).unref())]);
    }
  }

  private watch(conn: Redis, role: string, own: boolean): void {
    let readyBefore = conn.status === 'ready';
    const onReady = () => {
      if (readyBefore) this.onReconnect?.();
      readyBefore = true;
    };
    conn.on('ready', onReady);
    this.listeners.push(() => conn.off('ready', onReady));
    if (!own) return;
    // Without a listener ioredis reports errors itself; with ours, each
    // reconnect failure is logged once per 10 s, and the process never crashes.
    const onError = (error: Error) => {
      const now = Date.now();
      if (now - (this.lastErrorLog.get(conn) ?? 0) < 10_000) return;
      this.lastErrorLog.set(conn, now);
      this.logger.warn(Messages.redisConnectionError(role, error?.message ?? String(error)));
    };
    conn.on('error', onError);
    // Kept after close(): late socket errors while closing must still be caught.
  }
}
