import { enqueueColumns, type EnqueueRow } from './postgres.codec.js';
import type { PostgresDatabase, Run } from './postgres.database.js';
import type { PostgresJobControlStatements } from './postgres-job-control.statements.js';
import type { PostgresStatements } from './postgres.statements.js';

/** Rounds of insert-or-find for unique keys before giving up (each round settles every key not lost to a holder that finished meanwhile). */
const MAX_UNIQUE_ROUNDS = 50;

/** Rows of one unique key (name and key) within one batch, settled as one. */
interface KeyGroup {
  row: EnqueueRow;
  /** Positions in the batch that get this group's id. */
  positions: number[];
}

/**
 * Writes enqueued rows. Rows without a unique key take one INSERT per
 * `enqueueChunkSize` rows, as before; rows with one take the unique-key
 * statements, which cost a round trip more only when the key is in use.
 */
export class PostgresEnqueuer {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly sql: PostgresStatements,
    private readonly jobs: PostgresJobControlStatements,
    private readonly queue: string,
    private readonly chunkSize: number,
  ) {}

  /** All rows or none; resolves with the ids in order (the existing task's id for a unique key in use). */
  async insert(rows: readonly EnqueueRow[]): Promise<string[]> {
    const keyed = rows.some((row) => row[7] !== null);
    // One statement commits by itself; a single keyed row's statements each
    // leave the store consistent, so it needs no transaction either.
    if ((!keyed && rows.length <= this.chunkSize) || (keyed && rows.length === 1)) {
      return this.write(rows, this.db.query);
    }
    let ids: string[] = [];
    await this.db.transaction(async (run) => {
      ids = await this.write(rows, run);
    });
    return ids;
  }

  /** Writes with `run` (a transaction's, or the pool's for one statement). */
  async write(rows: readonly EnqueueRow[], run: Run): Promise<string[]> {
    const ids = rows.map((row) => row[0]);
    const plain: EnqueueRow[] = [];
    const groups = new Map<string, KeyGroup>();
    for (const [i, row] of rows.entries()) {
      if (row[7] === null) {
        plain.push(row);
        continue;
      }
      const group = groups.get(JSON.stringify([row[1], row[7]]));
      if (!group) {
        groups.set(JSON.stringify([row[1], row[7]]), { row, positions: [i] });
        continue;
      }
      // A second row with the same key in one batch acts as a second
      // enqueue would: it keeps the first one's id, and with 'replace' its
      // content becomes the task's (so does any existing waiting task's).
      group.positions.push(i);
      if (row[9]) group.row = [group.row[0], ...row.slice(1, 9), true, group.row[10]] as EnqueueRow;
    }
    for (let i = 0; i < plain.length; i += this.chunkSize) {
      await run(this.sql.enqueue, [this.queue, ...enqueueColumns(plain.slice(i, i + this.chunkSize))]);
    }
    if (groups.size > 0) {
      const settled = await this.writeKeyed([...groups.values()], run);
      for (const [group, id] of settled) for (const position of group.positions) ids[position] = id;
    }
    return ids;
  }

  /**
   * Insert what is free, find (and replace, if asked) what is held; a key
   * whose holder finished between the two is free again: next round.
   * Sorted by name and key, so concurrent batches take keys in one order.
   */
  private async writeKeyed(groups: KeyGroup[], run: Run): Promise<Map<KeyGroup, string>> {
    const settled = new Map<KeyGroup, string>();
    let pending = [...groups].sort((a, b) => compare(a.row[1], b.row[1]) || compare(a.row[7]!, b.row[7]!));
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_UNIQUE_ROUNDS) {
        throw new Error(
          `PostgresTaskClient.enqueue(): ${pending.length} unique key(s) changed hands ${MAX_UNIQUE_ROUNDS} times while being enqueued; try again.`,
        );
      }
      const skipped: KeyGroup[] = [];
      for (let i = 0; i < pending.length; i += this.chunkSize) {
        const chunk = pending.slice(i, i + this.chunkSize);
        const checkIds = chunk.some((group) => group.row[10]);
        const { rows } = await run<{ id: string }>(this.jobs.enqueueUnique(checkIds), [
          this.queue,
          ...enqueueColumns(chunk.map((group) => group.row)),
        ]);
        const inserted = new Set(rows.map((row) => row.id));
        for (const group of chunk) {
          if (inserted.has(group.row[0])) settled.set(group, group.row[0]);
          else skipped.push(group);
        }
      }
      pending = [];
      for (let i = 0; i < skipped.length; i += this.chunkSize) {
        const chunk = skipped.slice(i, i + this.chunkSize);
        const { rows } = await run<{ ord: number; id: string }>(this.jobs.enqueueDuplicates, [
          this.queue,
          ...enqueueColumns(
            chunk.map((group) => group.row),
            true,
          ),
        ]);
        const found = new Map(rows.map((row) => [row.ord - 1, row.id]));
        for (const [j, group] of chunk.entries()) {
          const id = found.get(j);
          if (id === undefined) pending.push(group);
          else settled.set(group, id);
        }
      }
    }
    return settled;
  }
}

/** Code-unit order, the same in every locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
