import { packageRequire } from '../../internal/package-location.js';
import type { SuiteFunction, TestFunction } from './conformance-options.interface.js';

/** How the suite registers its cases with the test runner. */
export interface TestRunner {
  describe: SuiteFunction;
  test(name: string, timeoutMs: number, body: () => Promise<void>): void;
  skip(name: string, reason: string): void;
}

interface NodeTest {
  describe(name: string, body: () => void): unknown;
  it(name: string, options: { timeout?: number; skip?: string }, body: () => Promise<void> | void): unknown;
}

/**
 * The runner's own functions, or node:test's. node:test is loaded only when
 * needed (a Jest or Vitest run never touches it), with the package's
 * `require`, so that registering stays synchronous in both builds.
 */
export function testRunner(describe?: SuiteFunction, it?: TestFunction): TestRunner {
  if ((describe === undefined) !== (it === undefined)) {
    throw new TypeError('taskClientConformance(): pass both "describe" and "it" of your test runner, or neither.');
  }
  if (describe && it) {
    return {
      describe,
      // Runners take their own timeout in different ways; the suite enforces its own inside the body.
      test: (name, _timeoutMs, body) => void it(name, body),
      skip: (name, reason) => {
        const title = `${name} (skipped: ${reason})`;
        if (typeof it.skip === 'function') it.skip(title, () => undefined);
      },
    };
  }
  const node = packageRequire('node:test') as NodeTest;
  return {
    describe: (name, body) => node.describe(name, body),
    test: (name, timeoutMs, body) => void node.it(name, { timeout: timeoutMs + 5000 }, body),
    skip: (name, reason) => void node.it(name, { skip: reason }, () => undefined),
  };
}
