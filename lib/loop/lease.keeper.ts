import type { LoggerService } from '@nestjs/common';
import { describeThrown } from '../clients/kit/json.encoder.js';
import type { TaskClient, TaskEnvelope } from '../interfaces/task-client.interface.js';

/**
 * Keeps the leases of every delivery the loop holds — queued, running, or
 * finished with its outcome not published yet — by calling `extendLeases()`
 * every `leaseMs / 3`, and hands the deliveries the client reports lost to
 * `onLost`, once each. A lost delivery is extended no more: another consumer
 * has it now.
 */
export class LeaseKeeper {
  private timer?: NodeJS.Timeout;
  private inFlight = false;
  private readonly lost = new WeakSet<TaskEnvelope>();

  constructor(
    private readonly client: TaskClient,
    /** Every delivery the loop holds right now. */
    private readonly holding: () => TaskEnvelope[],
    private readonly onLost: (tasks: readonly TaskEnvelope[]) => void,
    private readonly logger: LoggerService,
  ) {}

  start(): void {
    const { leaseMs } = this.client;
    if (!leaseMs || !this.client.extendLeases || this.timer) return;
    this.timer = setInterval(() => this.extend(), Math.max(10, Math.floor(leaseMs / 3)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether the client reported this delivery's lease lost. */
  isLost(task: TaskEnvelope): boolean {
    return this.lost.has(task);
  }

  private extend(): void {
    // One call at a time: a slow one (a database that hangs) must not pile up
    // more behind it; the one in flight extends what it can when it lands.
    if (this.inFlight) return;
    const tasks = this.holding().filter((task) => !this.lost.has(task));
    if (tasks.length === 0) return;
    this.inFlight = true;
    void this.extendNow(tasks).finally(() => (this.inFlight = false));
  }

  private async extendNow(tasks: readonly TaskEnvelope[]): Promise<void> {
    let reported: void | readonly TaskEnvelope[];
    try {
      reported = await this.client.extendLeases!(tasks);
    } catch (error) {
      this.logger.warn(`Extending the leases of ${tasks.length} task(s) failed: ${describeThrown(error)}`);
      return;
    }
    if (!reported || reported.length === 0) return;
    const sent = new Set(tasks);
    const fresh = reported.filter((task) => sent.has(task) && !this.lost.has(task));
    for (const task of fresh) this.lost.add(task);
    if (fresh.length === 0) return;
    try {
      this.onLost(fresh);
    } catch (error) {
      this.logger.error(`Handling ${fresh.length} lost lease(s) failed: ${describeThrown(error)}`);
    }
  }
}
