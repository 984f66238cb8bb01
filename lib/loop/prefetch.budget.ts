/** Share of the lease within which every delivery the loop holds unstarted should be able to start. */
export const PREFETCH_LEASE_SHARE = 1 / 4;
/** Unstarted deliveries per thread before any task time has been measured. */
const FIRST_PER_THREAD = 2;
/** Weight of the newest run time in the moving average. */
const WEIGHT = 0.1;

/**
 * How many fetched deliveries may wait in this process without having
 * started, for a task client with leases. A process that dies strands what
 * it holds: those tasks wait out their lease, and on a store that cannot
 * tell started from prefetched, each is charged an attempt. So the loop holds
 * no more than its threads can start within a share of the lease — measured
 * task time times threads — starting small before anything is measured.
 * Without leases (the in-memory client) nothing is stranded: no limit but
 * the queue's.
 */
export class PrefetchBudget {
  private averageMs?: number;

  constructor(
    private readonly leaseMs: number | undefined,
    private readonly threads: number,
  ) {}

  /** A client task ran this long in its thread. */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.averageMs = this.averageMs === undefined ? ms : this.averageMs + (ms - this.averageMs) * WEIGHT;
  }

  /** Most deliveries that may be held unstarted right now (at least one per thread). */
  get limit(): number {
    if (!this.leaseMs) return Infinity;
    if (this.averageMs === undefined) return this.threads * FIRST_PER_THREAD;
    const perThread = (this.leaseMs * PREFETCH_LEASE_SHARE) / Math.max(this.averageMs, 0.01);
    return Math.max(this.threads, Math.ceil(this.threads * perThread));
  }
}
