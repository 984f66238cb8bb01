import type { LoggerService } from '@nestjs/common';
import { describeThrown } from '../clients/kit/json.encoder.js';
import { WarningThrottle } from '../common/warning.throttle.js';
import type { ProgressUpdate, TaskClient, TaskEnvelope } from '../interfaces/task-client.interface.js';

/** How often the latest progress of each delivery goes to the store. */
export const PROGRESS_REPORT_INTERVAL_MS = 250;

/**
 * Sends the deliveries' `ctx.progress()` to the task client's store
 * (`reportProgress`), the latest value per delivery, at most every
 * `PROGRESS_REPORT_INTERVAL_MS`. A delivery whose outcome is about to be
 * published has its last value sent at once, so that the outcome rarely
 * overtakes it (the store fences progress of a finished delivery). Best
 * effort: a failed call is logged, not retried; the next value replaces it.
 */
export class ProgressReporter {
  private pending = new Map<TaskEnvelope, unknown>();
  private timer?: NodeJS.Timeout;
  private failures = 0;
  private readonly warnings = new WarningThrottle();

  constructor(
    private readonly client: TaskClient,
    private readonly logger: LoggerService,
    private readonly intervalMs = PROGRESS_REPORT_INTERVAL_MS,
  ) {}

  /** The client keeps progress: a delivery's calls get an `onProgress` only then. */
  get enabled(): boolean {
    return typeof this.client.reportProgress === 'function';
  }

  add(task: TaskEnvelope, value: unknown): void {
    this.pending.set(task, value);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** The delivery's outcome is next: what it reported goes now. */
  beforeOutcome(task: TaskEnvelope): void {
    if (this.pending.has(task)) this.flush();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const updates: ProgressUpdate[] = [];
    for (const [task, value] of this.pending) updates.push({ task, value });
    this.pending = new Map();
    let sent: Promise<void>;
    try {
      sent = this.client.reportProgress!(updates);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      () => (this.failures = 0),
      (error: unknown) => {
        this.failures++;
        if (!this.warnings.due()) return;
        this.logger.warn(
          `Storing the progress of ${updates.length} task(s) failed (${describeThrown(error)}; ${this.failures} failure(s) in a row). Not retried: get(id) shows an older value until the next report.`,
        );
      },
    );
  }
}
