/**
 * Measured run time per task name (an exponentially weighted average of what
 * the threads report). Decides which tasks are short enough to batch and how
 * large `map()` chunks should be.
 */
export class TaskTiming {
  private readonly averages = new Map<string, number>();

  /** Average run time in ms, or `undefined` before the first run. */
  estimate(name: string): number | undefined {
    return this.averages.get(name);
  }

  record(name: string, ms: number): void {
    const previous = this.averages.get(name);
    this.averages.set(name, previous === undefined ? ms : previous * 0.8 + ms * 0.2);
  }
}
