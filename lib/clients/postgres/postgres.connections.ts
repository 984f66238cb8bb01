import type { LoggerService } from '@nestjs/common';
import type { Pool, PoolConfig } from 'pg';
import { Messages } from '../../errors/error-messages.js';
import { PostgresDependencyError } from '../../errors/worker.errors.js';
import { packageRequire } from '../../internal/package-location.js';

/** `pg` is an optional peer dependency: loaded only when the client has to make a pool. */
function loadPg(): typeof import('pg') {
  try {
    return packageRequire('pg') as typeof import('pg');
  } catch (error) {
    throw new PostgresDependencyError((error as Error).message, { cause: error });
  }
}

/**
 * The client's pool (the caller's, or one it made), kept alive through
 * broken idle connections, and the background work that must end before
 * the pool does.
 */
export class PostgresConnections {
  readonly pool: Pool;
  private readonly ownsPool: boolean;
  /** Work that must end before the pool does (claims answered after their fetch was aborted). */
  private readonly pending = new Set<Promise<unknown>>();
  private lastIdleErrorAt = 0;

  constructor(
    settings: { pool?: Pool; poolConfig?: PoolConfig },
    private readonly logger: LoggerService,
    /** True once the client is closing: broken idle connections are no news then. */
    private readonly closing: () => boolean,
  ) {
    this.ownsPool = settings.pool === undefined;
    this.pool = settings.pool ?? new (loadPg().Pool)(settings.poolConfig);
    // An idle pooled connection that breaks (server restart) is emitted as
    // 'error' on the pool; with no listener that would end the process. The
    // pool drops the connection itself and makes a new one when needed.
    this.pool.on('error', this.onIdleError);
  }

  readonly track = (work: Promise<unknown> | undefined): void => {
    if (!work) return;
    const tracked = work.catch((error: unknown) =>
      this.logger.warn(Messages.pgConnectionError('release', String((error as Error)?.message ?? error))),
    );
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  };

  /** Waits for the tracked work, then ends the pool if the client made it. */
  async close(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    if (this.ownsPool) await this.pool.end();
    // pool.end() resolves before the sockets are closed: a server going
    // down right then still emits 'error' on the pool, so our own pool
    // keeps its listener for good. Yours gets its own listeners back.
    else this.pool.off('error', this.onIdleError);
  }

  private readonly onIdleError = (error: Error): void => {
    if (this.closing()) return;
    const now = Date.now();
    if (now - this.lastIdleErrorAt < 5000) return; // a restart breaks every idle connection at once: log it once
    this.lastIdleErrorAt = now;
    this.logger.warn(Messages.pgConnectionError('idle pooled', error.message));
  };
}
