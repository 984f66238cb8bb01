/** The default spacing of repeated warnings: one line per half minute of a lasting outage. */
export const WARN_EVERY_MS = 30_000;

/**
 * At most one warning per `everyMs`, for failures that repeat while a store,
 * a stream or a client is down and would otherwise flood the log.
 */
export class WarningThrottle {
  private lastAt = -Infinity;

  constructor(private readonly everyMs = WARN_EVERY_MS) {}

  /** True when a warning may be logged now; the next one waits `everyMs` from here. */
  due(now = Date.now()): boolean {
    if (now - this.lastAt < this.everyMs) return false;
    this.lastAt = now;
    return true;
  }
}
