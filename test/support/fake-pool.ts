/**
 * A TaskPool without threads, for driving the dispatcher from unit specs:
 * every dispatch waits in `pending` until the spec answers it as a thread
 * would (`reply`), kills its "thread" (`reject`), or aborts it through the
 * dispatcher's signal (it then rejects, as piscina does).
 */
import type { TransferListItem } from 'node:worker_threads';
import type { DispatchReply, DispatchRequest, ThreadFailure } from '../../lib/boundary/dispatch.protocol.js';
import type { TaskPool } from '../../lib/pool/task-pool.interface.js';

export interface SentCall {
  readonly name: string;
  readonly payload: unknown;
  readonly id: string;
  readonly attempt: number;
  readonly timeoutMs: number;
}

/** What one call of a dispatch did in the "thread". */
export type CallOutcome = { value: unknown; ms?: number } | { failure: ThreadFailure; ms?: number };

export class FakeRun {
  settled = false;
  readonly calls: SentCall[];

  constructor(
    readonly request: DispatchRequest,
    readonly signal: AbortSignal | undefined,
    readonly transfer: TransferListItem[] | undefined,
    private readonly resolve: (reply: DispatchReply) => void,
    private readonly rejectRun: (error: unknown) => void,
    private readonly tid: number,
  ) {
    const { n, p, i, o = 0, a, to } = request;
    this.calls = Array.from({ length: p.length }, (_, index) => ({
      name: typeof n === 'string' ? n : n[index]!,
      payload: p[index],
      id: typeof i === 'string' ? `${i}:${o + index}` : i[index]!,
      attempt: a?.[index] ?? 1,
      timeoutMs: typeof to === 'number' ? to : (to?.[index] ?? 0),
    }));
  }

  get names(): string[] {
    return this.calls.map((c) => c.name);
  }

  /** Writes the progress cells as a thread does before running call `index`. */
  start(index: number): void {
    const { pr, b = 0 } = this.request;
    if (!pr) throw new Error('this dispatch has no deadline, so no progress cells');
    Atomics.store(pr, 1, Date.now() - b);
    Atomics.store(pr, 0, index);
  }

  /** Answers with one outcome per call (a `map()` chunk stops at its first failure). */
  reply(outcomes: readonly CallOutcome[]): void {
    const values: unknown[] = [];
    const durations: number[] = [];
    let failures: Record<number, ThreadFailure> | undefined;
    outcomes.forEach((outcome, index) => {
      durations[index] = outcome.ms ?? 0.1;
      if ('failure' in outcome) (failures ??= {})[index] = outcome.failure;
      else values[index] = outcome.value;
    });
    const reply: DispatchReply = { v: values, t: durations.reduce((a, b) => a + b, 0), tid: this.tid, h: 0, c: 1 };
    if (failures) reply.f = failures;
    if (typeof this.request.i !== 'string') reply.d = durations;
    this.finish(() => this.resolve(reply));
  }

  /** Every call returns its payload. */
  echo(ms?: number): void {
    this.reply(this.calls.map((c) => ({ value: c.payload, ms })));
  }

  /** The thread died, or the request could not be cloned. */
  reject(error: unknown): void {
    this.finish(() => this.rejectRun(error));
  }

  private finish(settle: () => void): void {
    if (this.settled) throw new Error('this dispatch was already answered');
    this.settled = true;
    settle();
  }
}

export class FakePool implements TaskPool {
  readonly runs: FakeRun[] = [];
  readonly replies: DispatchReply[] = [];
  alive: number;
  /** Busy threads keep a process alive; the dispatcher's own timers do not. */
  private keepAlive?: NodeJS.Timeout;

  constructor(readonly size = 2) {
    this.alive = size;
  }

  get pending(): FakeRun[] {
    return this.runs.filter((r) => !r.settled);
  }

  run(request: DispatchRequest, signal?: AbortSignal, transfer?: TransferListItem[]): Promise<DispatchReply> {
    return new Promise((resolve, reject) => {
      this.keepAlive ??= setInterval(() => {
        if (this.pending.length > 0) return;
        clearInterval(this.keepAlive);
        this.keepAlive = undefined;
      }, 5);
      const run = new FakeRun(request, signal, transfer, resolve, reject, 100 + this.runs.length);
      this.runs.push(run);
      // As postMessage does: a transferred buffer is unusable on this side from now on.
      for (const item of transfer ?? []) {
        if (item instanceof ArrayBuffer) structuredClone(item, { transfer: [item] });
      }
      // As piscina does: an aborted task rejects and its thread is stopped.
      signal?.addEventListener(
        'abort',
        () => {
          if (!run.settled) run.reject(Object.assign(new Error('The task has been aborted'), { name: 'AbortError' }));
        },
        { once: true },
      );
    });
  }

  afterReply(reply: DispatchReply): void {
    this.replies.push(reply);
  }
}
