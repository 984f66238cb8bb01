import { MapChunk, type QueueEntry } from './call.record.js';

/** Tasks from the task client, and `run()` / `map()` callers (one per `map()`, however many chunks it has). */
export interface ShutdownCount {
  readonly client: number;
  readonly callers: number;
}

/** What the shutdown deadline found: still running (stopped), and still queued (failed without starting). */
export interface ShutdownSummary {
  readonly stopped: ShutdownCount;
  readonly unstarted: ShutdownCount;
}

/** Counts the entries the shutdown deadline reaches, for the line that says what happened to them. */
export class ShutdownTally {
  private readonly counts = {
    stopped: { client: 0, callers: new Set<string>() },
    unstarted: { client: 0, callers: new Set<string>() },
  };

  add(stage: keyof ShutdownSummary, entry: QueueEntry): void {
    const count = this.counts[stage];
    if (entry instanceof MapChunk) count.callers.add(`map:${entry.idPrefix}`);
    else if (entry.source === 'client') count.client++;
    else count.callers.add(`${entry.source}:${entry.id}`);
  }

  summary(): ShutdownSummary {
    const { stopped, unstarted } = this.counts;
    return {
      stopped: { client: stopped.client, callers: stopped.callers.size },
      unstarted: { client: unstarted.client, callers: unstarted.callers.size },
    };
  }
}
