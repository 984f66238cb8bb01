import type { ConformanceFeatures } from './conformance-options.interface.js';
import type { ConformanceContext } from './conformance.context.js';

export type ConformanceFeature = keyof ConformanceFeatures;

/** One case of the suite. Cases are grouped by topic, one file per group (`cases/*.cases.ts`). */
export interface ConformanceCase {
  readonly title: string;
  /** Features the client must offer; the case is skipped when one is turned off. */
  readonly needs?: readonly ConformanceFeature[];
  /** Leases the case may wait out, on top of the base timeout. */
  readonly leases?: number;
  run(ctx: ConformanceContext): Promise<void>;
}

export interface ConformanceGroup {
  readonly title: string;
  readonly cases: readonly ConformanceCase[];
}
