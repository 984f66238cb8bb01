import { Injectable } from '@nestjs/common';

export const REGIONS = ['EMEA', 'North America', 'LATAM', 'APAC'] as const;
export const CATEGORIES = ['books', 'electronics', 'garden', 'grocery', 'sports', 'toys'] as const;
/** Typical unit price per category, in cents. */
const BASE_PRICE = [1_500, 45_000, 6_000, 900, 8_000, 3_500];

export interface Sale {
  region: number;
  category: number;
  /** 0..11 */
  month: number;
  quantity: number;
  /** quantity x unit price, in cents (integers, so that sums are exact). */
  amountCents: number;
}

/**
 * Generated sales data standing in for a database table. Row `i` of seed `s`
 * is a pure function of (s, i), so any range of rows can be produced in any
 * thread and a report split in shards adds up to exactly the same numbers.
 */
@Injectable()
export class SalesDataService {
  /** Fills `into` with row `index` (reused object: no garbage per row). */
  row(seed: number, index: number, into: Sale): Sale {
    const a = mix(seed, index, 1);
    const b = mix(seed, index, 2);
    into.region = a % REGIONS.length;
    into.category = (a >>> 8) % CATEGORIES.length;
    into.month = (a >>> 16) % 12;
    into.quantity = 1 + (b % 10 === 0 ? b % 50 : b % 4);
    // Unit price: the category's base, times 0.25..4 on a log scale.
    const spread = 2 ** (((b >>> 8) % 4096) / 1024 - 2);
    into.amountCents = into.quantity * Math.max(1, Math.round(BASE_PRICE[into.category]! * spread));
    return into;
  }
}

/** A 32-bit hash of (seed, index, lane): murmur3's finalizer over a mix of the three. */
function mix(seed: number, index: number, lane: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index, 0xc2b2ae35) ^ Math.imul(lane, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
