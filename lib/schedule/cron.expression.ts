import { Cron } from 'croner';

/** Reads a cron expression in a time zone; `problem()` says what is wrong with one, for bootstrap errors. */
export class CronExpression {
  private readonly cron: Cron;

  /** Throws croner's error for an expression it cannot read; call `problem()` first for a message. */
  constructor(
    readonly expression: string,
    readonly timezone: string,
  ) {
    // Paused and without a callback, croner only computes times: it arms no timer of its own.
    this.cron = new Cron(expression, { timezone, paused: true, mode: '5-or-6-parts' });
  }

  /** The first tick strictly after `after` (epoch ms), or undefined when there is none (a past year). */
  nextAfter(after: number): number | undefined {
    return this.cron.nextRun(new Date(after))?.getTime();
  }

  /** The latest tick at or before `at` (epoch ms), or undefined when there is none. */
  latestAtOrBefore(at: number): number | undefined {
    // croner counts a run at the reference itself only when it is earlier in the same second: 1 ms later it is.
    return this.cron.previousRuns(1, new Date(at + 1))[0]?.getTime();
  }

  /** What is wrong with the expression or the time zone, or undefined when both can be read. */
  static problem(expression: string, timezone: string): { field: 'cron' | 'timezone'; problem: string } | undefined {
    try {
      // Intl names the zone's problem more plainly than the cron parser does.
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
      return { field: 'timezone', problem: `"${timezone}" is not a time zone this Node.js knows` };
    }
    try {
      const parsed = new CronExpression(expression, timezone);
      if (parsed.nextAfter(Date.now()) === undefined) {
        return { field: 'cron', problem: `"${expression}" has no tick after now` };
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { field: 'cron', problem: `"${expression}" cannot be read: ${message}` };
    }
    return undefined;
  }
}
