import type { Pool } from 'pg';
import type { PostgresMigrationResult } from './postgres-task-client-options.interface.js';

export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  /** SQL for a schema whose name was validated as a plain lowercase identifier. */
  sql(schema: string): string;
}

/**
 * The schema, one versioned step at a time. Never edit a released step: add
 * the next one. Every step runs in the same transaction as its bookkeeping
 * row, so a failed step leaves nothing half applied.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'tasks table, indexes and NOTIFY triggers',
    sql: (schema) => `
      CREATE TABLE "${schema}".tasks (
        queue            text        NOT NULL DEFAULT 'default',
        id               text        NOT NULL DEFAULT gen_random_uuid()::text,
        name             text        NOT NULL,
        -- JSON text, decoded by the client: unlike jsonb it takes every string
        -- JavaScript can encode (\\u0000 included), and a row written by another
        -- tool that is not valid JSON is dead-lettered instead of refused.
        payload          text,
        payload_encoding text        NOT NULL DEFAULT 'json',
        state            text        NOT NULL DEFAULT 'queued'
                                     CHECK (state IN ('queued', 'running', 'completed', 'failed')),
        priority         integer     NOT NULL DEFAULT 0,
        attempt          integer     NOT NULL DEFAULT 1 CHECK (attempt >= 1),
        max_attempts     integer     CHECK (max_attempts >= 1),
        -- Enqueue order among equal priorities and run times.
        seq              bigint      GENERATED ALWAYS AS IDENTITY,
        enqueued_at      timestamptz NOT NULL DEFAULT now(),
        run_at           timestamptz NOT NULL DEFAULT now(),
        -- A new token per claim: outcomes and lease extensions must present it.
        lease_token      uuid,
        lease_until      timestamptz,
        result           text,
        errors           jsonb       NOT NULL DEFAULT '[]'::jsonb,
        failure_reason   text,
        finished_at      timestamptz,
        expires_at       timestamptz,
        PRIMARY KEY (queue, id)
      );
      -- Claim order; only rows waiting to run are in it, so it stays small.
      CREATE INDEX tasks_ready_idx ON "${schema}".tasks (queue, priority DESC, run_at, seq) WHERE state = 'queued';
      -- Expired leases.
      CREATE INDEX tasks_leased_idx ON "${schema}".tasks (queue, lease_until) WHERE state = 'running';
      -- Retention of finished rows.
      CREATE INDEX tasks_expiry_idx ON "${schema}".tasks (queue, expires_at) WHERE expires_at IS NOT NULL;

      -- One notification per statement and queue, not per row: 100k inserted
      -- rows wake the workers once. Payload: the queue and how long until the
      -- earliest of those rows may run (relative, so clocks need not agree).
      CREATE FUNCTION "${schema}".notify_tasks() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        PERFORM pg_notify(
          TG_TABLE_SCHEMA || '.tasks',
          json_build_object(
            'queue', ready.queue,
            'delayMs', greatest(0, ceil(extract(epoch FROM ready.first_run_at - now()) * 1000))
          )::text)
        FROM (SELECT queue, min(run_at) AS first_run_at FROM changed WHERE state = 'queued' GROUP BY queue) AS ready;
        RETURN NULL;
      END
      $fn$;
      -- Inserts by anyone (other processes, other languages, psql) and rows
      -- made available again (released, retried, leases taken back, dead
      -- letters requeued by hand). A trigger with a transition table may have
      -- one event only, hence two.
      CREATE TRIGGER tasks_notify_insert AFTER INSERT ON "${schema}".tasks
        REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "${schema}".notify_tasks();
      CREATE TRIGGER tasks_notify_update AFTER UPDATE ON "${schema}".tasks
        REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "${schema}".notify_tasks();
    `,
  },
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;

/**
 * Applies the missing steps. Safe to run from many processes at once: a
 * transaction-scoped advisory lock per schema makes them take turns, and the
 * ones that come second find nothing left to do. (Without the lock two
 * `CREATE SCHEMA IF NOT EXISTS` can still collide on the catalog's unique
 * index.) The lock is released by COMMIT/ROLLBACK, or by the server if the
 * connection dies, so a crashed migrator never blocks the others.
 */
export async function runMigrations(pool: Pool, schema: string): Promise<PostgresMigrationResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => (broken = error);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    try {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('nestjs-worker:migrate:' || $1::text, 0))`, [
        schema,
      ]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS "${schema}".migrations (
           version    integer     PRIMARY KEY,
           name       text        NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM "${schema}".migrations`);
      const done = new Set(rows.map((r) => r.version));
      const applied: number[] = [];
      for (const step of POSTGRES_MIGRATIONS) {
        if (done.has(step.version)) continue;
        await client.query(step.sql(schema));
        await client.query(`INSERT INTO "${schema}".migrations (version, name) VALUES ($1, $2)`, [
          step.version,
          step.name,
        ]);
        applied.push(step.version);
      }
      await client.query('COMMIT');
      // A newer library may have applied later steps; report what is there.
      return { applied, version: Math.max(0, ...done, ...applied) };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    client.off('error', onError);
    client.release(broken ?? false);
  }
}
