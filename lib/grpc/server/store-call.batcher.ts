interface Request<T, R> {
  readonly items: readonly T[];
  resolve(reply: R): void;
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
 * nothing the second time. A failed store call fails each of its requests;
 * a store call's reply goes to each of them (extendLeases: the deliveries
 * found lost, which each request picks its own from).
 */
export class StoreCallBatcher<T, R = void> {
  private queue: Request<T, R>[] = [];
  private running = false;

  constructor(
    private readonly call: (items: T[]) => Promise<R>,
    /** Most items one store call takes (a request is never split); more wait for the next call. */
    private readonly maxItems = MAX_ITEMS,
  ) {}

  /** Resolves with the reply of the store call the items went in; not called for no items. */
  submit(items: readonly T[]): Promise<R | undefined> {
    if (items.length === 0) return Promise.resolve(undefined);
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
        while (take < this.queue.length && (take === 0 || count + this.queue[take]!.items.length <= this.maxItems))
          count += this.queue[take++]!.items.length;
        const batch = this.queue.splice(0, take);
        try {
          const reply = await this.call(batch.flatMap((request) => request.items));
          for (const request of batch) request.resolve(reply);
        } catch (error) {
          for (const request of batch) request.reject(error);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
