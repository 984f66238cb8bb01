/**
 * The one bounded queue in front of the pool. `offer()` never grows it past
 * `capacity`; a producer that finds it full either parks its item with
 * `admit()` (backpressure: the item enters, in order, when room appears) or
 * gives up. Parked items are not lost at shutdown: `takeParked()` hands them back.
 */
export class BoundedQueue<T> {
  private buffer: Array<T | undefined>;
  private head = 0;
  private size = 0;
  // Parked producers, oldest at parkedHead. A burst can park hundreds of
  // thousands of run() calls: admitting one must not shift the whole array,
  // and an aborted one is only marked gone, so both stay O(1).
  private parked: Array<Parked<T> | undefined> = [];
  private parkedHead = 0;
  private parkedLive = 0;
  private roomWaiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    this.buffer = new Array(Math.max(16, nextPowerOfTwo(Math.min(capacity, 1 << 16))));
  }

  get length(): number {
    return this.size;
  }

  /** Producers blocked by backpressure. */
  get parkedCount(): number {
    return this.parkedLive;
  }

  /** Room left for a new producer (parked producers come first). */
  get free(): number {
    return Math.max(0, this.capacity - this.size - this.parkedLive);
  }

  /** Adds `item` if there is room and nobody is waiting before it. */
  offer(item: T): boolean {
    if (this.size >= this.capacity || this.parkedLive > 0) return false;
    this.pushBack(item);
    return true;
  }

  /** Adds `item` now or as soon as there is room, in arrival order. */
  admit(item: T, signal?: AbortSignal): Promise<void> {
    if (this.offer(item)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const entry: Parked<T> = { item, resolve, reject, signal, gone: false };
      if (signal) {
        entry.onAbort = () => {
          if (entry.gone) return;
          entry.gone = true;
          this.parkedLive--;
          reject(signal.reason);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.parked.push(entry);
      this.parkedLive++;
    });
  }

  /**
   * Puts items back at the head, ahead of everything else: they were already
   * taken once (a batch being split up), so they may exceed the capacity briefly.
   */
  returnToFront(items: readonly T[]): void {
    for (let i = items.length - 1; i >= 0; i--) {
      if (this.size === this.buffer.length) this.grow();
      this.head = (this.head - 1 + this.buffer.length) % this.buffer.length;
      this.buffer[this.head] = items[i];
      this.size++;
    }
  }

  peek(): T | undefined {
    return this.size === 0 ? undefined : this.buffer[this.head];
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.buffer[this.head];
    this.buffer[this.head] = undefined;
    this.head = (this.head + 1) % this.buffer.length;
    this.size--;
    return item;
  }

  /** Moves parked items in while there is room, then wakes those waiting for room. */
  notifyRoom(): void {
    while (this.parkedLive > 0 && this.size < this.capacity) {
      const entry = this.parked[this.parkedHead]!;
      this.parked[this.parkedHead++] = undefined;
      if (entry.gone) continue;
      entry.gone = true;
      this.parkedLive--;
      if (entry.onAbort) entry.signal!.removeEventListener('abort', entry.onAbort);
      this.pushBack(entry.item);
      entry.resolve();
    }
    this.compactParked();
    if (this.roomWaiters.length > 0 && this.free > 0) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves once `free > 0`. */
  whenFree(): Promise<void> {
    if (this.free > 0) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Removes and returns the queued items that match. */
  removeWhere(match: (item: T) => boolean): T[] {
    const kept: T[] = [];
    const removed: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) {
      (match(item) ? removed : kept).push(item);
    }
    for (const item of kept) this.pushBack(item);
    return removed;
  }

  /** Removes parked producers, rejecting their `admit()` with `error(item)`. */
  takeParked(error: (item: T) => unknown): T[] {
    const entries = this.parked.slice(this.parkedHead).filter((e): e is Parked<T> => e !== undefined && !e.gone);
    this.parked = [];
    this.parkedHead = 0;
    this.parkedLive = 0;
    for (const entry of entries) {
      entry.gone = true;
      if (entry.onAbort) entry.signal!.removeEventListener('abort', entry.onAbort);
      entry.reject(error(entry.item));
    }
    return entries.map((e) => e.item);
  }

  private compactParked(): void {
    if (this.parkedHead === this.parked.length) {
      this.parked = [];
      this.parkedHead = 0;
    } else if (this.parkedHead > 1024 && this.parkedHead * 2 > this.parked.length) {
      this.parked = this.parked.slice(this.parkedHead);
      this.parkedHead = 0;
    }
  }

  private pushBack(item: T): void {
    if (this.size === this.buffer.length) this.grow();
    this.buffer[(this.head + this.size) % this.buffer.length] = item;
    this.size++;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buffer.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.buffer[(this.head + i) % this.buffer.length];
    this.buffer = next;
    this.head = 0;
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

interface Parked<T> {
  item: T;
  resolve: () => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  /** Admitted, aborted or handed back: skipped when its turn comes. */
  gone: boolean;
}
