import type { TaskEnvelope } from '../interfaces/task-client.interface.js';
import type { Call } from '../pool/call.record.js';

/**
 * What the worker loop holds: every delivery fetched and not yet reported
 * (what leases are extended for and what shutdown accounts for), the call
 * each one became, and which have reached a thread. The fetch loop waits on
 * it when too many wait unstarted: with leases, those are what a killed
 * process strands.
 */
export class HeldDeliveries {
  private readonly held = new Set<TaskEnvelope>();
  private readonly calls = new Map<TaskEnvelope, Call>();
  private readonly started = new Set<TaskEnvelope>();
  private startWaiters: Array<() => void> = [];

  get size(): number {
    return this.held.size;
  }

  get unstarted(): number {
    return this.held.size - this.started.size;
  }

  tasks(): IterableIterator<TaskEnvelope> {
    return this.held.values();
  }

  has(task: TaskEnvelope): boolean {
    return this.held.has(task);
  }

  add(task: TaskEnvelope): void {
    this.held.add(task);
  }

  /** The call a held delivery became, to take it out of the queue if it must not start. */
  callOf(task: TaskEnvelope): Call | undefined {
    return this.calls.get(task);
  }

  setCall(task: TaskEnvelope, call: Call): void {
    this.calls.set(task, call);
  }

  isStarted(task: TaskEnvelope): boolean {
    return this.started.has(task);
  }

  /** True the first time a held delivery reaches a thread. */
  markStarted(task: TaskEnvelope): boolean {
    if (!this.held.has(task) || this.started.has(task)) return false;
    this.started.add(task);
    this.wake();
    return true;
  }

  /** The delivery is no longer held; false when it was not. */
  forget(task: TaskEnvelope): boolean {
    const had = this.held.delete(task);
    this.started.delete(task);
    this.calls.delete(task);
    this.wake();
    return had;
  }

  /** Resolves once a held delivery starts or leaves. */
  whenFewerUnstarted(): Promise<void> {
    return new Promise((resolve) => this.startWaiters.push(resolve));
  }

  private wake(): void {
    if (this.startWaiters.length === 0) return;
    const waiters = this.startWaiters;
    this.startWaiters = [];
    for (const wake of waiters) wake();
  }
}
