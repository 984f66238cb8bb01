import { InvalidWorkerHealthOptionsError } from '../errors/worker.errors.js';

/** Thresholds of `WorkerHealthIndicator.isHealthy()`. */
export interface WorkerHealthOptions {
  /** Down when fewer worker threads than this are alive. @default 1 */
  minAliveThreads?: number;
  /**
   * Down when tasks wait (in the pool's queue, or ready in the task client's
   * store while the loop runs) or run, and none has finished for this long,
   * in ms: the threads or the loop are stuck (or every task is longer than
   * this: raise it above your longest task). 0 turns the check off.
   * @default 60000
   */
  stuckAfterMs?: number;
  /**
   * Down while replacement threads fail to boot their Nest context (a
   * database their providers need is down, say): when one failed within this
   * many ms before the check. 0 turns the check off.
   * @default 60000
   */
  bootFailureWindowMs?: number;
  /**
   * Ask the task client's store (`counts()`) whether it answers; down when it
   * throws or takes longer than this, in ms. 0 turns the check off.
   * @default 3000
   */
  storeTimeoutMs?: number;
}

export const WORKER_HEALTH_DEFAULTS: Required<WorkerHealthOptions> = {
  minAliveThreads: 1,
  stuckAfterMs: 60_000,
  bootFailureWindowMs: 60_000,
  storeTimeoutMs: 3000,
};

/** The defaults under `options`, each checked: a non-negative integer (a typo'd threshold must not pass silently). */
export function resolveHealthOptions(options: WorkerHealthOptions = {}): Required<WorkerHealthOptions> {
  const settings = { ...WORKER_HEALTH_DEFAULTS };
  for (const key of Object.keys(options) as (keyof WorkerHealthOptions)[]) {
    if (!(key in WORKER_HEALTH_DEFAULTS)) {
      throw new InvalidWorkerHealthOptionsError(
        key,
        'is not an option',
        `Use ${Object.keys(WORKER_HEALTH_DEFAULTS).join(', ')}.`,
      );
    }
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidWorkerHealthOptionsError(
        key,
        `must be a non-negative integer, got ${String(value)}`,
        `Give a number of ${key === 'minAliveThreads' ? 'threads' : 'milliseconds (0 turns the check off)'}, or leave it out for ${WORKER_HEALTH_DEFAULTS[key]}.`,
      );
    }
    settings[key] = value;
  }
  return settings;
}
