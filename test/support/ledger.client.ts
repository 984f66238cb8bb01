/**
 * A TaskClient that wraps the in-memory client and writes down every
 * delivery the loop fetched and every outcome it published: the ledger the
 * "exactly one terminal report per delivery" invariant is checked against.
 */
import { InMemoryTaskClient, type TaskClient, type TaskEnvelope, type TaskOutcome } from '../../lib/index.js';

export class LedgerClient implements TaskClient {
  readonly inner = new InMemoryTaskClient({ maxFinished: 1_000_000 });
  readonly fetched: TaskEnvelope[] = [];
  readonly outcomes: TaskOutcome[] = [];
  fetchCalls = 0;

  async fetch(max: number, signal: AbortSignal): Promise<readonly TaskEnvelope[]> {
    this.fetchCalls++;
    // A fetch that returns after the abort still counts: the loop must release what it got.
    void signal;
    const tasks = await this.inner.fetch(max);
    this.fetched.push(...tasks);
    return tasks;
  }

  async publish(outcomes: readonly TaskOutcome[]): Promise<void> {
    this.outcomes.push(...outcomes);
    await this.inner.publish(outcomes);
  }

  watch(onAvailable: () => void): () => void {
    return this.inner.watch(onAvailable);
  }

  /**
   * Every delivery with the outcomes published for it. A delivery is one
   * envelope object: a released task is fetched again as a new one.
   */
  reportsPerDelivery(): { deliveries: Map<TaskEnvelope, TaskOutcome[]>; strays: TaskOutcome[] } {
    const deliveries = new Map<TaskEnvelope, TaskOutcome[]>(this.fetched.map((t) => [t, []]));
    const strays: TaskOutcome[] = [];
    for (const outcome of this.outcomes) {
      const list = deliveries.get(outcome.task);
      if (list) list.push(outcome);
      else strays.push(outcome);
    }
    return { deliveries, strays };
  }
}
