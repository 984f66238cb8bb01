import type { LoggerService } from '@nestjs/common';
import { describeThrown } from '../clients/kit/json.encoder.js';
import { WarningThrottle } from '../common/warning.throttle.js';
import type { TaskClient, TaskEnvelope } from '../interfaces/task-client.interface.js';

/** How long a start mark waits for others to share its `markStarted()` call. */
export const START_MARK_DELAY_MS = 20;

/**
 * Tells the client which deliveries reached a worker thread, in batches a
 * few milliseconds apart, so that a lease that runs out charges an attempt
 * only to tasks that started. A delivery whose outcome came before its batch
 * went out is left out: its outcome says more than a start mark would. A
 * failed call is logged and not retried; the client's lease-expiry rules
 * stay safe without marks (see `TaskClient.markStarted`).
 */
export class StartMarks {
  private pending: TaskEnvelope[] = [];
  private timer?: NodeJS.Timeout;
  private failures = 0;
  private readonly warnings = new WarningThrottle();

  constructor(
    private readonly client: TaskClient,
    /** Whether the loop still holds the delivery (no outcome yet). */
    private readonly held: (task: TaskEnvelope) => boolean,
    private readonly logger: LoggerService,
  ) {}

  add(task: TaskEnvelope): void {
    if (!this.client.markStarted) return;
    this.pending.push(task);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), START_MARK_DELAY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
  }

  private flush(): void {
    this.timer = undefined;
    const batch = this.pending.filter(this.held);
    this.pending = [];
    if (batch.length === 0) return;
    this.client.markStarted!(batch).then(
      () => (this.failures = 0),
      (error: unknown) => {
        this.failures++;
        if (!this.warnings.due()) return;
        this.logger.warn(
          `Recording that ${batch.length} task(s) started failed (${describeThrown(error)}; ${this.failures} failure(s) in a row). Not retried: if this process dies now, a lost lease may not charge them an attempt.`,
        );
      },
    );
  }
}
