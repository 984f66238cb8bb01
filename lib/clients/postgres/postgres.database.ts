import type { Pool } from 'pg';
import { PostgresSchemaMissingError } from '../../errors/worker.errors.js';

export type Run = <R extends object = Record<string, unknown>>(
  text: string,
  values: unknown[],
) => Promise<{ rows: R[]; rowCount: number | null }>;

/**
 * Queries on the pool, with a missing table or schema turned into an error
 * that says to migrate, and transactions on one checked-out connection.
 */
export class PostgresDatabase {
  constructor(
    readonly pool: Pool,
    private readonly table: string,
    private readonly queue: string,
  ) {}

  readonly query: Run = async <R extends object>(text: string, values: unknown[]) => {
    try {
      return (await this.pool.query(text, values)) as unknown as { rows: R[]; rowCount: number | null };
    } catch (error) {
      throw this.explain(error);
    }
  };

  async transaction(work: (run: Run) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    // A connection that breaks while checked out emits 'error' on the client,
    // which would end the process without a listener; it is then destroyed
    // on release instead of going back to the pool.
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      try {
        await work(
          async <R extends object>(text: string, values: unknown[]) =>
            (await client.query(text, values)) as unknown as { rows: R[]; rowCount: number | null },
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw this.explain(error);
      }
    } finally {
      client.off('error', onError);
      client.release(broken ?? false);
    }
  }

  private explain(error: unknown): unknown {
    const code = (error as { code?: string })?.code;
    // 42P01 undefined_table, 3F000 invalid_schema_name: never migrated.
    if (code === '42P01' || code === '3F000')
      return new PostgresSchemaMissingError(this.table, this.queue, { cause: error });
    // 42883 undefined_function, 42703 undefined_column: migrated by an older version.
    if (code === '42883' || code === '42703') {
      return new PostgresSchemaMissingError(this.table, this.queue, { cause: error, outdated: true });
    }
    return error;
  }
}
