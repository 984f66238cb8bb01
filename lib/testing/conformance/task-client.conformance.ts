import type { ConformanceCase, ConformanceGroup } from './conformance-case.interface.js';
import { ConformanceContext, missingFeature } from './conformance.context.js';
import type {
  ConformanceClient,
  ConformanceFeatures,
  ConformanceQueue,
  TaskClientConformanceOptions,
} from './conformance-options.interface.js';
import { testRunner } from './test-runner.adapter.js';
import { DELAY_CASES } from './cases/delays.cases.js';
import { FETCH_CASES } from './cases/fetch.cases.js';
import { HOSTILE_DATA_CASES } from './cases/hostile-data.cases.js';
import { LEASE_CASES } from './cases/leases.cases.js';
import { OUTCOME_CASES } from './cases/outcomes.cases.js';
import { PERMIT_CASES } from './cases/permits.cases.js';
import { SCHEDULE_CASES } from './cases/schedules.cases.js';
import { CANCEL_CASES } from './cases/cancel.cases.js';
import { PROGRESS_CASES } from './cases/progress.cases.js';
import { UNIQUE_KEY_CASES } from './cases/unique-keys.cases.js';

/** Every group of the suite, in the order they run. A new group is one more file under cases/. */
export const CONFORMANCE_GROUPS: readonly ConformanceGroup[] = [
  FETCH_CASES,
  OUTCOME_CASES,
  LEASE_CASES,
  HOSTILE_DATA_CASES,
  DELAY_CASES,
  PERMIT_CASES,
  SCHEDULE_CASES,
  CANCEL_CASES,
  PROGRESS_CASES,
  UNIQUE_KEY_CASES,
];

const ALL_FEATURES: Required<ConformanceFeatures> = {
  consumers: true,
  leases: true,
  startMarks: true,
  watch: true,
  permits: true,
  schedules: true,
  cancel: true,
  progress: true,
  uniqueKeys: true,
  retryDeadLetter: true,
};

/**
 * Registers the TaskClient conformance suite with your test runner: what
 * every task client must do for the worker loop and for producers, on a
 * fresh queue per case. Call it at the top level of a test file.
 *
 * ```ts
 * import { describe, it } from 'node:test'; // or Jest's, Vitest's, Mocha's
 * import { taskClientConformance } from 'nestjs-worker/testing';
 *
 * taskClientConformance({
 *   name: 'MyTaskClient',
 *   describe,
 *   it,
 *   open: () => {
 *     const queue = `conformance-${randomUUID()}`;
 *     const clients: MyTaskClient[] = [];
 *     const make = () => { const c = new MyTaskClient({ queue, leaseMs: 500 }); clients.push(c); return c; };
 *     return { client: make(), consumer: make, kill: (c) => c.close(), close: () => Promise.all(clients.map((c) => c.close())) };
 *   },
 * });
 * ```
 */
export function taskClientConformance<C extends ConformanceClient>(options: TaskClientConformanceOptions<C>): void {
  if (options === null || typeof options !== 'object' || typeof options.open !== 'function') {
    throw new TypeError('taskClientConformance(): pass { name, open } (open() makes a fresh queue per case).');
  }
  const runner = testRunner(options.describe, options.it);
  const features: Required<ConformanceFeatures> = { ...ALL_FEATURES, ...options.features };
  if (features.leases && !features.consumers) features.leases = false;
  if (features.startMarks && !features.leases) features.startMarks = false;
  const baseMs = options.timeoutMs ?? 30_000;
  runner.describe(`TaskClient conformance: ${options.name}`, () => {
    for (const group of CONFORMANCE_GROUPS) {
      runner.describe(group.title, () => {
        for (const entry of group.cases) {
          const off = (entry.needs ?? []).find((feature) => !features[feature]);
          if (off) runner.skip(entry.title, `feature "${off}" turned off`);
          // The runner's own timeout, for the longest lease a client under test may have.
          else
            runner.test(entry.title, budgetMs(entry, baseMs, 10_000), () => runCase(entry, options, features, baseMs));
        }
      });
    }
  });
}

async function runCase<C extends ConformanceClient>(
  entry: ConformanceCase,
  options: TaskClientConformanceOptions<C>,
  features: Required<ConformanceFeatures>,
  baseMs: number,
): Promise<void> {
  const queue = await options.open();
  const controller = new AbortController();
  let ctx: ConformanceContext | undefined;
  try {
    const missing = missingFeature(queue as ConformanceQueue, entry.needs ?? []);
    if (missing) throw new Error(`This case cannot run: ${missing}`);
    const budget = budgetMs(entry, baseMs, features.leases ? (queue.client.leaseMs ?? 0) : 0);
    ctx = new ConformanceContext(queue as ConformanceQueue, features, controller.signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`The case did not finish within ${budget} ms.`));
      }, budget);
    });
    try {
      await Promise.race([entry.run(ctx), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    controller.abort();
    await (ctx ? ctx.close() : queue.close());
  }
}

/** Time a case may take: the base, and for each lease it waits out a few leases plus scheduling slack. */
function budgetMs(entry: ConformanceCase, baseMs: number, leaseMs: number): number {
  return baseMs + (entry.leases ?? 0) * (leaseMs * 4 + 5000);
}
