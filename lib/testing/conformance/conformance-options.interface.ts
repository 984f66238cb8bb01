import type { MaybePromise, TaskClient } from '../../interfaces/task-client.interface.js';
import type { TaskStore } from '../../interfaces/task-store.interface.js';

/** A client under test: the worker loop's side and the producer's side. */
export type ConformanceClient = TaskClient & TaskStore;

/** One fresh, empty queue, opened for one case, with clients of type `C` on it. */
export interface ConformanceQueue<C extends ConformanceClient = ConformanceClient> {
  /** The client under test on this queue: producer, and first consumer. */
  readonly client: C;
  /**
   * Another consumer of the same queue, made the way a second process would
   * make it (a client of its own, its own connections). Needed by the
   * `consumers` and `leases` features.
   */
  consumer?(): MaybePromise<C>;
  /**
   * Makes `client` behave like a process killed with SIGKILL: it stops at
   * once, gives nothing back and extends nothing (closing its connections
   * without releasing anything is usually right). The suite never uses a
   * killed client again.
   * @default nothing is done; the suite simply stops using the client
   */
  kill?(client: C): MaybePromise<void>;
  /** Closes every client made for the queue (killed ones included) and removes the queue's data. */
  close(): MaybePromise<void>;
}

/**
 * What the client under test offers beyond the core contract. Every feature
 * is expected unless set to `false`: a case of a feature the client turns
 * out not to have fails and says which feature to turn off, so a gap is
 * never reported as a pass.
 */
export interface ConformanceFeatures {
  /**
   * Several consumers share one queue (`ConformanceQueue.consumer()`): no
   * task is held by two of them at once.
   * @default true
   */
  consumers?: boolean;
  /**
   * Deliveries are leased (`leaseMs`, `extendLeases()`): a lease that runs
   * out makes the task available to another consumer, a late outcome of the
   * old holder is fenced, `extendLeases()` reports lost deliveries. Needs
   * `consumers`, and a short `leaseMs` on the clients under test (at most
   * 10000; 300 to 1000 keeps the suite quick).
   * @default true
   */
  leases?: boolean;
  /** `markStarted()`: a lease that runs out before a delivery started costs no attempt. Needs `leases`. @default true */
  startMarks?: boolean;
  /** `watch()`: a sleeping consumer is woken when work arrives. @default true */
  watch?: boolean;
  /**
   * `acquirePermits()` and `enqueue(..., { concurrencyKey })`: at most K
   * deliveries per task name and key hold a permit, across consumers; at
   * most `max` grants per sliding interval; `released` with `delayMs`.
   * @default true
   */
  permits?: boolean;
  /** `fireSchedule()`: one fire per schedule key and tick, however many consumers offer it. @default true */
  schedules?: boolean;
  /**
   * `cancel(id)` and `watchCancels()`: a waiting task never runs, a running
   * one is cancelled and its holder told, in whichever consumer.
   * @default true
   */
  cancel?: boolean;
  /** `reportProgress()`: the latest progress of a delivery shows in `get(id)`, fenced like outcomes. @default true */
  progress?: boolean;
  /** `enqueue(..., { uniqueKey, onDuplicate })`: one waiting or running task per task name and key. @default true */
  uniqueKeys?: boolean;
  /** `retryDeadLetter(id)`: a dead letter runs again as attempt 1, every earlier error kept in order. @default true */
  retryDeadLetter?: boolean;
}

/** A `describe()` as test runners have it (node:test, Jest, Vitest, Mocha). */
export type SuiteFunction = (name: string, body: () => void) => unknown;

/** An `it()` / `test()` as test runners have it; `skip` is used when present. */
export interface TestFunction {
  (name: string, body: () => Promise<void>): unknown;
  skip?: (name: string, body: () => void) => unknown;
}

export interface TaskClientConformanceOptions<C extends ConformanceClient = ConformanceClient> {
  /** Names the suite: `TaskClient conformance: <name>`. */
  name: string;
  /**
   * Opens a fresh, empty queue (a queue name, key prefix or schema of its
   * own) and returns the client under test on it. Called once per case;
   * the suite calls `close()` of what it returned after the case.
   */
  open(): MaybePromise<ConformanceQueue<C>>;
  /** @default every feature; see ConformanceFeatures */
  features?: ConformanceFeatures;
  /**
   * The test runner's `describe` and `it`. Pass both or neither.
   * @default those of `node:test`
   */
  describe?: SuiteFunction;
  it?: TestFunction;
  /**
   * Longest run of one case, in milliseconds, before it fails. Cases that
   * wait for leases get more (a few times `leaseMs`). Give your runner's own
   * timeout at least as much (Jest and Vitest default to 5 s: pass
   * `it: (name, fn) => it(name, fn, 60_000)`).
   * @default 30000
   */
  timeoutMs?: number;
}
