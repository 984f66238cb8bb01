interface Request<T> {
  readonly items: readonly T[];
  resolve(): void;
  reject(error: unknown): void;
}

/** Most items one store call takes; more wait for the next call, which follows at once. */
const MAX_ITEMS = 5000;

/**
 * Calls of every remote worker to one store method (publish, markStarted),
 * merged: while one store call runs, the requests that arrive wait and go
 * together in the next. A durable store client writes as one consumer, its
 * writes on held rows one after another (PostgreSQL): one statement per
 * worker request would queue an extension behind dozens of start marks and
 * outcome batches until leases run out. Merging is safe: outcomes are
 * fenced per delivery, so one that comes twice (a resent batch) changes
 * nothing the second time. A failed store call fails each of its requests.
 */
export class StoreCallBatcher<T> {
  private queue: Request<T>[] = [];
  private running = false;

  constructor(private readonly call: (items: T[]) => Promise<void>) {}

  submit(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        let count = 0;
        let take = 0;
        while (take < this.queue.length && (take === 0 || count + this.queue[take]!.items.length <= MAX_ITEMS))
          count += this.queue[take++]!.items.length;
        const batch = this.queue.splice(0, take);
        try {
          await this.call(batch.flatMap((request) => request.items));
          for (const request of batch) request.resolve();
        } catch (error) {
          for (const request of batch) request.reject(error);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
