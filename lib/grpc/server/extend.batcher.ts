import type { TaskClient, TaskEnvelope } from '../../interfaces/task-client.interface.js';

interface Request {
  readonly tasks: readonly TaskEnvelope[];
  resolve(lost: number[]): void;
  reject(error: unknown): void;
}

/**
 * Lease extensions of every remote worker, one store call at a time over
 * all of them. A store client extends as one consumer, and may share an
 * extension in flight with a caller that overlaps it (the PostgreSQL client
 * does): two workers' calls must not overlap, or one would get the other's
 * answer and its own leases would not be extended.
 */
export class ExtendBatcher {
  private queue: Request[] = [];
  private running = false;

  constructor(private readonly store: TaskClient) {}

  /** Positions in `tasks` of the deliveries whose lease was already lost. */
  extend(tasks: readonly TaskEnvelope[]): Promise<number[]> {
    if (tasks.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ tasks, resolve, reject });
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const reported = await this.store.extendLeases!(batch.flatMap((request) => request.tasks));
          const lost = new Set(reported ?? []);
          for (const request of batch) {
            const positions: number[] = [];
            request.tasks.forEach((task, i) => lost.has(task) && positions.push(i));
            request.resolve(positions);
          }
        } catch (error) {
          for (const request of batch) request.reject(error);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
