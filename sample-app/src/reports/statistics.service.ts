import { Injectable } from '@nestjs/common';
import { threadId } from 'node:worker_threads';
import { CATEGORIES, REGIONS, type Sale } from './sales-data.service.js';

/** Buckets per doubling of the histogram: percentiles are within ~4.4 %. */
const BUCKETS_PER_OCTAVE = 8;
const BUCKETS = 32 * BUCKETS_PER_OCTAVE;

/** Running statistics of order amounts, mergeable across shards (plain data: it crosses threads). */
export interface Accumulator {
  orders: number;
  units: number;
  amountCents: number;
  minCents: number;
  maxCents: number;
  /** Sum of squares of amounts in currency units (floating point), for the standard deviation. */
  sumSquares: number;
  /** Log-scale histogram of amounts, for percentiles. */
  histogram: number[];
}

/** A shard's (or the whole data set's) aggregates, per region x category and per month. */
export interface PartialReport {
  rows: number;
  /** [region][category] */
  cells: Accumulator[][];
  monthCents: number[];
}

export interface GroupStats {
  name: string;
  orders: number;
  units: number;
  revenue: number;
  averageOrder: number;
  stdDev: number;
  min: number;
  max: number;
  /** Approximate (log-scale histogram, within ~4.4 %). */
  p50: number;
  p95: number;
  p99: number;
}

export interface SalesReport {
  seed: number;
  rows: number;
  generatedAt: string;
  /** Process and thread that finished the report (threads are numbered from 1; 0 is the main thread). */
  generatedBy: { pid: number; threadId: number };
  totals: GroupStats & { revenueCents: number };
  regions: GroupStats[];
  categories: GroupStats[];
  months: Array<{ month: number; revenue: number }>;
  /** The same, as a text table. */
  text: string;
}

/** Aggregation (per row, hot loop), merging of shards, and the finished report. */
@Injectable()
export class StatisticsService {
  emptyPartial(): PartialReport {
    return {
      rows: 0,
      cells: REGIONS.map(() => CATEGORIES.map(() => emptyAccumulator())),
      monthCents: new Array(12).fill(0),
    };
  }

  add(partial: PartialReport, sale: Sale): void {
    partial.rows++;
    partial.monthCents[sale.month]! += sale.amountCents;
    const acc = partial.cells[sale.region]![sale.category]!;
    acc.orders++;
    acc.units += sale.quantity;
    acc.amountCents += sale.amountCents;
    if (sale.amountCents < acc.minCents) acc.minCents = sale.amountCents;
    if (sale.amountCents > acc.maxCents) acc.maxCents = sale.amountCents;
    const amount = sale.amountCents / 100;
    acc.sumSquares += amount * amount;
    acc.histogram[bucketOf(sale.amountCents)]!++;
  }

  merge(into: PartialReport, other: PartialReport): PartialReport {
    into.rows += other.rows;
    for (let m = 0; m < 12; m++) into.monthCents[m]! += other.monthCents[m]!;
    into.cells.forEach((row, r) => row.forEach((acc, c) => mergeAccumulator(acc, other.cells[r]![c]!)));
    return into;
  }

  finish(partial: PartialReport, seed: number): SalesReport {
    const all = emptyAccumulator();
    const regions = REGIONS.map((name, r) => {
      const acc = emptyAccumulator();
      partial.cells[r]!.forEach((cell) => mergeAccumulator(acc, cell));
      mergeAccumulator(all, acc);
      return stats(name, acc);
    });
    const categories = CATEGORIES.map((name, c) => {
      const acc = emptyAccumulator();
      partial.cells.forEach((row) => mergeAccumulator(acc, row[c]!));
      return stats(name, acc);
    });
    const totals = { ...stats('all', all), revenueCents: all.amountCents };
    const months = partial.monthCents.map((cents, month) => ({ month: month + 1, revenue: cents / 100 }));
    return {
      seed,
      rows: partial.rows,
      generatedAt: new Date().toISOString(),
      generatedBy: { pid: process.pid, threadId },
      totals,
      regions,
      categories,
      months,
      text: render(seed, partial.rows, totals, regions, categories),
    };
  }
}

function emptyAccumulator(): Accumulator {
  return {
    orders: 0,
    units: 0,
    amountCents: 0,
    minCents: Number.MAX_SAFE_INTEGER,
    maxCents: 0,
    sumSquares: 0,
    histogram: new Array(BUCKETS).fill(0),
  };
}

function mergeAccumulator(into: Accumulator, other: Accumulator): void {
  into.orders += other.orders;
  into.units += other.units;
  into.amountCents += other.amountCents;
  into.minCents = Math.min(into.minCents, other.minCents);
  into.maxCents = Math.max(into.maxCents, other.maxCents);
  into.sumSquares += other.sumSquares;
  for (let i = 0; i < BUCKETS; i++) into.histogram[i]! += other.histogram[i]!;
}

function bucketOf(cents: number): number {
  return Math.min(BUCKETS - 1, Math.floor(Math.log2(Math.max(1, cents)) * BUCKETS_PER_OCTAVE));
}

function percentile(histogram: readonly number[], orders: number, p: number): number {
  if (orders === 0) return 0;
  const rank = Math.ceil(orders * p);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    // The bucket's geometric middle, in currency units.
    if (seen >= rank) return round2(2 ** ((i + 0.5) / BUCKETS_PER_OCTAVE) / 100);
  }
  return 0;
}

function stats(name: string, acc: Accumulator): GroupStats {
  const revenue = acc.amountCents / 100;
  const mean = acc.orders ? revenue / acc.orders : 0;
  const variance = acc.orders ? Math.max(0, acc.sumSquares / acc.orders - mean * mean) : 0;
  return {
    name,
    orders: acc.orders,
    units: acc.units,
    revenue,
    averageOrder: round2(mean),
    stdDev: round2(Math.sqrt(variance)),
    min: acc.orders ? acc.minCents / 100 : 0,
    max: acc.maxCents / 100,
    p50: percentile(acc.histogram, acc.orders, 0.5),
    p95: percentile(acc.histogram, acc.orders, 0.95),
    p99: percentile(acc.histogram, acc.orders, 0.99),
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function render(
  seed: number,
  rows: number,
  totals: GroupStats,
  regions: GroupStats[],
  categories: GroupStats[],
): string {
  const money = (n: number) => n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const header = ['', 'orders', 'revenue', 'avg order', 'p50', 'p95', 'p99'];
  const line = (s: GroupStats) => [
    s.name,
    s.orders.toLocaleString('en-US'),
    money(s.revenue),
    money(s.averageOrder),
    money(s.p50),
    money(s.p95),
    money(s.p99),
  ];
  const table = (title: string, groups: GroupStats[]) => {
    const rowsOut = [header.map((h, i) => (i === 0 ? title : h)), ...groups.map(line), line(totals)];
    const widths = header.map((_, i) => Math.max(...rowsOut.map((r) => r[i]!.length)));
    return rowsOut
      .map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '))
      .join('\n');
  };
  return [
    `Sales report, ${rows.toLocaleString('en-US')} orders (seed ${seed})`,
    '',
    table('region', regions),
    '',
    table('category', categories),
    '',
  ].join('\n');
}
