/** One schedule as `WorkerManager.schedules()` lists it. */
export interface ScheduleInfo {
  /** Name of its marker in the store (`schedule.key`, else the task name). */
  readonly key: string;
  /** The task each fire enqueues. */
  readonly task: string;
  readonly cron: string;
  /** IANA time zone the expression is read in. */
  readonly timezone: string;
  readonly catchUp: 'latest' | 'none';
  /** Epoch ms of the next tick this process will offer; undefined before the scheduler started, after it stopped, or when no tick is left. */
  readonly nextFireAt: number | undefined;
}
