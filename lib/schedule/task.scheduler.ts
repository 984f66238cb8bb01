import type { LoggerService } from '@nestjs/common';
import { Backoff, sleep } from '../common/backoff.js';
import { describeThrown } from '../clients/kit/json.encoder.js';
import { logText } from '../common/log-text.js';
import { Messages } from '../errors/error-messages.js';
import type { ScheduleFire, TaskStore } from '../interfaces/task-store.interface.js';
import type { ScheduleInfo } from './schedule-info.interface.js';
import type { ScheduleSpec } from './schedule.collector.js';

/**
 * Longest single sleep towards a tick. The next tick is computed from the
 * wall clock, but timers run on the monotonic clock: a far-off tick is
 * approached in steps that look at the wall clock again, so NTP corrections,
 * a suspended laptop or a VM migration shift the wait instead of firing it
 * early or late by the drift.
 */
const MAX_STEP_MS = 60_000;
/** Retry of a failed offer: quick at first, never slower than this, and never past the next tick. */
const RETRY = { initialMs: 250, factor: 2, maxMs: 30_000, jitter: 'equal' } as const;

/**
 * Runs the application's schedules in the main thread: for each, offers
 * every tick to the store (`fireSchedule()`), which fires it once across all
 * processes that offer it (its marker per key). Each fire is an ordinary
 * task, with retries and the rest.
 *
 * Catch-up: at start, a schedule with `catchUp: 'latest'` offers its latest
 * past tick with `whenNew: 'record'`, so after downtime the most recent
 * missed tick fires once (never the earlier ones), while a schedule the
 * store has never seen only records it and starts at its next tick. Then
 * each tick is offered with `whenNew: 'fire'` when due. A process that woke
 * late (an event-loop stall, a suspended machine) offers only the latest
 * due tick, by the same rule.
 */
export class TaskScheduler {
  private readonly stopping = new AbortController();
  private readonly next = new Map<string, number | undefined>();
  private runs: Array<Promise<void>> = [];

  constructor(
    private readonly specs: readonly ScheduleSpec[],
    private readonly store: Pick<Required<TaskStore>, 'fireSchedule'>,
    private readonly logger: LoggerService,
  ) {}

  get size(): number {
    return this.specs.length;
  }

  start(): void {
    if (this.runs.length > 0 || this.stopping.signal.aborted) return;
    this.runs = this.specs.map((spec) => this.run(spec));
  }

  /** Stops offering ticks; waits up to `graceMs` for an offer in flight. */
  async stop(graceMs = 1000): Promise<void> {
    this.stopping.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.runs),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs).unref())),
    ]);
    clearTimeout(timer);
  }

  /** The schedules, with the next tick each will offer (undefined before start, after stop, or when none is left). */
  list(): ScheduleInfo[] {
    return this.specs.map((spec) => ({
      key: spec.key,
      task: spec.task,
      cron: spec.cron.expression,
      timezone: spec.cron.timezone,
      catchUp: spec.catchUp,
      nextFireAt: this.next.get(spec.key),
    }));
  }

  private async run(spec: ScheduleSpec): Promise<void> {
    const signal = this.stopping.signal;
    let last = -Infinity;
    if (spec.catchUp === 'latest') {
      const missed = spec.cron.latestAtOrBefore(Date.now());
      if (missed !== undefined) {
        await this.offer(spec, missed, 'record', spec.cron.nextAfter(missed));
        last = missed;
      }
    }
    while (!signal.aborted) {
      const tick = spec.cron.nextAfter(Math.max(Date.now(), last));
      this.next.set(spec.key, tick);
      if (tick === undefined) return;
      await this.sleepUntil(tick);
      if (signal.aborted) break;
      // Woken late past further ticks: only the latest due one fires (catch-up 'latest').
      const due = Math.max(tick, spec.cron.latestAtOrBefore(Date.now()) ?? tick);
      await this.offer(spec, due, 'fire', spec.cron.nextAfter(due));
      last = due;
    }
    this.next.set(spec.key, undefined);
  }

  /** Offers one tick until the store answers, or until the next tick is due (then it is skipped here). */
  private async offer(
    spec: ScheduleSpec,
    tick: number,
    whenNew: ScheduleFire['whenNew'],
    nextTick?: number,
  ): Promise<void> {
    const retries = new Backoff(RETRY);
    const fire: ScheduleFire = { key: spec.key, tick, whenNew, task: { name: spec.task, payload: spec.payload } };
    while (!this.stopping.signal.aborted) {
      try {
        const id = await this.store.fireSchedule(fire);
        if (id !== undefined) {
          this.logger.debug?.(
            `Schedule ${logText(spec.key)} fired task ${logText(spec.task)}#${logText(id)} for ${new Date(tick).toISOString()}.`,
          );
        }
        return;
      } catch (error) {
        const wait = retries.next();
        const at = new Date(tick).toISOString();
        if (nextTick !== undefined && Date.now() + wait >= nextTick) {
          this.logger.warn(Messages.scheduleFireMissed(spec.key, at));
          return;
        }
        if (retries.failures === 1) this.logger.warn(Messages.scheduleFireFailed(spec.key, at, describeThrown(error)));
        await sleep(wait, this.stopping.signal);
      }
    }
  }

  /** Sleeps until the wall clock reads `at`, in steps (see MAX_STEP_MS), or until stopped. */
  private async sleepUntil(at: number): Promise<void> {
    for (let left = at - Date.now(); left > 0 && !this.stopping.signal.aborted; left = at - Date.now()) {
      await sleep(Math.min(left, MAX_STEP_MS), this.stopping.signal);
    }
  }
}
