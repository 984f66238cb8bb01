import type { BoundedQueue } from './bounded.queue.js';
import { Call, type QueueEntry } from './call.record.js';
import type { TaskTiming } from './task.timing.js';

export interface BatchingSettings {
  enabled: boolean;
  maxBatchSize: number;
  /** Measured work per batch, in ms; tasks measured slower than this always travel alone. */
  targetBatchMs: number;
}

/**
 * Picks the short calls that share one thread message with the head of the
 * queue. Only calls measured short, never with a signal or a transfer list
 * (they need a message of their own to be stopped or moved), and only while
 * work waits for threads.
 */
export class CallBatcher {
  constructor(
    private readonly settings: BatchingSettings,
    private readonly timing: TaskTiming,
    private readonly threads: number,
  ) {}

  /** `head` (already taken from `queue`) and the calls behind it that join its message. */
  collect(head: Call, queue: BoundedQueue<QueueEntry>, idleThreads: number): Call[] {
    const { enabled, maxBatchSize, targetBatchMs } = this.settings;
    if (!enabled || !canShare(head)) return [head];
    const estimate = this.timing.estimate(head.name);
    if (estimate === undefined || estimate > targetBatchMs) return [head];
    const depth = queue.length;
    // While there are idle threads for everything queued, latency wins.
    if (depth < idleThreads) return [head];
    // Spread the backlog over the threads instead of giving one thread all of it.
    const limit = Math.min(maxBatchSize, Math.ceil((depth + 1) / this.threads));
    const batch = [head];
    let budget = targetBatchMs - estimate;
    while (batch.length < limit) {
      const next = queue.peek();
      if (!(next instanceof Call) || !canShare(next)) break;
      const cost = this.timing.estimate(next.name);
      if (cost === undefined || cost > budget) break;
      queue.shift();
      batch.push(next);
      budget -= cost;
    }
    return batch;
  }
}

function canShare(call: Call): boolean {
  return call.batchable && !call.solo && call.signal === undefined && call.transfer === undefined;
}
