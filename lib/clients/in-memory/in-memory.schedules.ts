import type { EnqueueTask, ScheduleFire } from '../../interfaces/task-store.interface.js';

/**
 * Schedule markers of the in-memory client (`TaskStore.fireSchedule()`):
 * the latest tick recorded per schedule key. Every WorkerModule sharing one
 * InMemoryTaskClient instance offers each tick; the first offer records it
 * and fires, the others find it recorded. Single-threaded, so the check and
 * the enqueue cannot interleave with another offer.
 */
export class InMemorySchedules {
  private readonly ticks = new Map<string, number>();

  /**
   * Records `fire.tick` when it is later than the key's marker and enqueues
   * the task through `enqueue` (unless the key is new and `whenNew` is
   * `'record'`). The marker moves only once the enqueue succeeded: a task the
   * store refuses leaves the tick to the next offer.
   */
  offer(fire: ScheduleFire, enqueue: (task: EnqueueTask) => string): string | undefined {
    checkFire(fire);
    const last = this.ticks.get(fire.key);
    if (last !== undefined && fire.tick <= last) return undefined;
    const id = last === undefined && fire.whenNew === 'record' ? undefined : enqueue(fire.task);
    this.ticks.set(fire.key, fire.tick);
    return id;
  }

  /** The latest tick recorded for `key` (epoch ms), if any. */
  lastTick(key: string): number | undefined {
    return this.ticks.get(key);
  }
}

function checkFire(fire: ScheduleFire): void {
  const problem =
    fire === null || typeof fire !== 'object'
      ? 'expected { key, tick, task, whenNew }'
      : typeof fire.key !== 'string' || fire.key === ''
        ? '"key" must be a non-empty string'
        : !Number.isSafeInteger(fire.tick) || fire.tick < 0
          ? '"tick" must be an epoch time in whole milliseconds'
          : fire.whenNew !== 'fire' && fire.whenNew !== 'record'
            ? '"whenNew" must be "fire" or "record"'
            : fire.task === null || typeof fire.task !== 'object'
              ? '"task" must be a task ({ name, payload, ... })'
              : undefined;
  if (problem) throw new TypeError(`InMemoryTaskClient.fireSchedule(): ${problem}.`);
}
