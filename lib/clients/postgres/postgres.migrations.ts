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
  {
    version: 2,
    name: 'start marks, unstarted lease expiries, a claim independent of statistics, dead-letter index',
    sql: (schema) => `
      -- Set by markStarted() for the current claim (cleared by the next one):
      -- a lease that runs out on a delivery that never reached a thread does
      -- not use up an attempt.
      ALTER TABLE "${schema}".tasks ADD COLUMN started_at timestamptz;
      -- Leases of the current attempt that ran out before a start mark landed.
      -- Bounded (see the take-back statement), so that a task that kills its
      -- process before its start is recorded still ends dead-lettered.
      ALTER TABLE "${schema}".tasks ADD COLUMN unstarted_expiries integer NOT NULL DEFAULT 0;
      -- When the current lease was taken or last extended: with lease_until,
      -- the holder's own lease length, by which a delivery that never started
      -- is taken back after half of it.
      ALTER TABLE "${schema}".tasks ADD COLUMN leased_at timestamptz;
      -- A queue table changes wholesale within minutes (100k rows in, 100k
      -- out); the default thresholds (20% of the table) leave the planner
      -- with statistics of a table that no longer exists. Claim plans must
      -- not depend on them (see the claim statement), but the other queries
      -- and the table's bloat do.
      ALTER TABLE "${schema}".tasks SET (
        autovacuum_vacuum_scale_factor = 0.02,
        autovacuum_vacuum_threshold = 1000,
        autovacuum_analyze_scale_factor = 0.02,
        autovacuum_analyze_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0.02,
        autovacuum_vacuum_insert_threshold = 1000
      );
      -- deadLetters(): the newest first, without reading the queue's other rows.
      CREATE INDEX tasks_failed_idx ON "${schema}".tasks (queue, finished_at DESC) WHERE state = 'failed';

      -- The claim, as a function for one reason: a plan that does not depend
      -- on the table's statistics. On a queue they do not know yet (a new
      -- queue name, 50k rows enqueued since the last ANALYZE) the planner
      -- estimates one row and reads the whole queue through the primary key
      -- and sorts it, on every claim: 35-40x slower drains. With sorting
      -- disabled, the only plan left reads the ready index in claim order
      -- and stops after p_max rows; the rows are then updated by their
      -- physical address (ctid), which is a TID scan whatever the estimates.
      -- The ctids are those of the row versions the sub-select has just
      -- locked (and re-checked), so nobody can move them before the UPDATE
      -- of the same statement reaches them. No further condition on the
      -- UPDATE: one on an indexed column would let the planner trade the
      -- TID scan for an index scan of the whole queue again.
      CREATE FUNCTION "${schema}".claim(p_queue text, p_max integer, p_lease_ms float8)
      RETURNS TABLE (id text, name text, payload text, encoding text, attempt integer, max_attempts integer,
                     priority integer, seq float8, enqueued_at float8, run_at float8, token text)
      LANGUAGE sql VOLATILE
      SET enable_sort = off
      AS $fn$
        UPDATE "${schema}".tasks t
        SET state = 'running', lease_token = gen_random_uuid(), leased_at = now(),
            lease_until = now() + p_lease_ms * interval '1 millisecond', started_at = NULL
        WHERE t.ctid = ANY(ARRAY(
                SELECT r.ctid FROM "${schema}".tasks r
                WHERE r.queue = p_queue AND r.state = 'queued' AND r.run_at <= now()
                ORDER BY r.priority DESC, r.run_at, r.seq
                LIMIT p_max
                FOR UPDATE SKIP LOCKED))
        RETURNING t.id, t.name, t.payload, t.payload_encoding, t.attempt, t.max_attempts, t.priority, t.seq::float8,
                  floor(extract(epoch FROM t.enqueued_at) * 1000)::float8, floor(extract(epoch FROM t.run_at) * 1000)::float8,
                  t.lease_token::text
      $fn$;
    `,
  },
  {
    version: 3,
    name: 'trace context of the enqueuing code',
    sql: (schema) => `
      -- W3C traceparent (a line feed, then tracestate) of the code that
      -- enqueued the task, when it had telemetry on: every attempt's span is
      -- a child of it, in whichever process it runs.
      ALTER TABLE "${schema}".tasks ADD COLUMN trace_context text;
      -- The claim returns it too. Processes of an older version select their
      -- columns by name, so they keep working against the new function.
      DROP FUNCTION "${schema}".claim(text, integer, float8);
      CREATE FUNCTION "${schema}".claim(p_queue text, p_max integer, p_lease_ms float8)
      RETURNS TABLE (id text, name text, payload text, encoding text, attempt integer, max_attempts integer,
                     priority integer, seq float8, enqueued_at float8, run_at float8, token text, trace_context text)
      LANGUAGE sql VOLATILE
      SET enable_sort = off
      AS $fn$
        UPDATE "${schema}".tasks t
        SET state = 'running', lease_token = gen_random_uuid(), leased_at = now(),
            lease_until = now() + p_lease_ms * interval '1 millisecond', started_at = NULL
        WHERE t.ctid = ANY(ARRAY(
                SELECT r.ctid FROM "${schema}".tasks r
                WHERE r.queue = p_queue AND r.state = 'queued' AND r.run_at <= now()
                ORDER BY r.priority DESC, r.run_at, r.seq
                LIMIT p_max
                FOR UPDATE SKIP LOCKED))
        RETURNING t.id, t.name, t.payload, t.payload_encoding, t.attempt, t.max_attempts, t.priority, t.seq::float8,
                  floor(extract(epoch FROM t.enqueued_at) * 1000)::float8, floor(extract(epoch FROM t.run_at) * 1000)::float8,
                  t.lease_token::text, t.trace_context
      $fn$;
    `,
  },
  {
    version: 4,
    name: 'job control: cancelled state, progress, unique and concurrency keys, permits, rate windows, schedules',
    sql: (schema) => `
      -- cancel(id): a finished state of its own, kept and cleaned up like the others.
      ALTER TABLE "${schema}".tasks DROP CONSTRAINT tasks_state_check;
      ALTER TABLE "${schema}".tasks ADD CONSTRAINT tasks_state_check
        CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled'));
      -- ctx.progress(): the latest value of the current (or last) attempt, as JSON text.
      ALTER TABLE "${schema}".tasks ADD COLUMN progress text;
      -- enqueue(..., { uniqueKey }): at most one waiting or running task per
      -- queue, name and key, enforced by the index below, so that producers
      -- in any number of processes cannot both insert one (ON CONFLICT).
      -- Finished and cancelled rows leave the index: their key is free again.
      ALTER TABLE "${schema}".tasks ADD COLUMN unique_key text;
      -- enqueue(..., { concurrencyKey }): the group @Task({ concurrencyPerKey }) limits.
      ALTER TABLE "${schema}".tasks ADD COLUMN concurrency_key text;
      CREATE UNIQUE INDEX tasks_unique_key_idx ON "${schema}".tasks (queue, name, unique_key)
        WHERE unique_key IS NOT NULL AND state IN ('queued', 'running');

      -- Concurrency permits: one row per delivery (lease token) that holds one.
      -- A permit counts only while its delivery still holds its lease on the
      -- task row (running, same token, lease not over), so a permit whose
      -- outcome was published, whose lease ran out or whose task was
      -- cancelled frees its slot without a write; rows are deleted when the
      -- outcome is published, and stray ones by the next grant of the key
      -- and by cleanup().
      CREATE TABLE "${schema}".permits (
        queue      text        NOT NULL,
        token      uuid        NOT NULL,
        name       text        NOT NULL,
        key        text        NOT NULL,
        task_id    text        NOT NULL,
        granted_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (queue, token)
      );
      CREATE INDEX permits_key_idx ON "${schema}".permits (queue, name, key);
      -- Rate limits: one row per grant, for the sliding window of its task
      -- name; rows older than the window are deleted by the next grant.
      CREATE TABLE "${schema}".rate_grants (
        queue      text        NOT NULL,
        name       text        NOT NULL,
        granted_at timestamptz NOT NULL
      );
      CREATE INDEX rate_grants_idx ON "${schema}".rate_grants (queue, name, granted_at);

      -- Schedules: the latest tick fired (or recorded) per schedule key, so
      -- that N processes offering the same tick fire it once.
      CREATE TABLE "${schema}".schedules (
        queue      text        NOT NULL,
        key        text        NOT NULL,
        last_tick  bigint      NOT NULL,
        fired_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (queue, key)
      );

      -- Grants permits for a batch of deliveries, in order, each as a whole
      -- or not at all. A transaction-scoped advisory lock per queue and task
      -- name (taken for every name of the batch up front, in sorted order,
      -- so two batches cannot deadlock) makes counting and granting one step
      -- across processes: two grants of the same name never both see the
      -- last free slot. The lock ends with the statement's transaction. The
      -- clock is read after the locks, so a grant that waited for them is
      -- dated when it is made.
      CREATE FUNCTION "${schema}".acquire_permits(
        p_queue text, p_ids text[], p_tokens uuid[], p_names text[], p_keys text[],
        p_rate_max integer[], p_rate_ms float8[], p_per_key integer[], p_busy_ms float8)
      RETURNS TABLE (ord integer, granted boolean, retry_after_ms float8)
      LANGUAGE plpgsql VOLATILE
      AS $fn$
      DECLARE
        v_name text;
        v_now timestamptz;
        v_count integer;
        v_oldest timestamptz;
        i integer;
      BEGIN
        FOR v_name IN SELECT DISTINCT n FROM unnest(p_names) AS n ORDER BY n LOOP
          PERFORM pg_advisory_xact_lock(hashtextextended('nestjs-worker:permits:${schema}:' || p_queue || ':' || v_name, 0));
        END LOOP;
        v_now := clock_timestamp();
        FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
          ord := i;
          granted := true;
          retry_after_ms := 0;
          IF p_per_key[i] IS NOT NULL AND p_keys[i] IS NOT NULL THEN
            -- Permits of deliveries that no longer hold their lease go first.
            DELETE FROM "${schema}".permits p
            WHERE p.queue = p_queue AND p.name = p_names[i] AND p.key = p_keys[i]
              AND NOT EXISTS (
                SELECT 1 FROM "${schema}".tasks t
                WHERE t.queue = p.queue AND t.id = p.task_id AND t.lease_token = p.token AND t.state = 'running'
                  AND t.lease_until >= v_now
                  AND NOT (t.started_at IS NULL AND t.leased_at + (t.lease_until - t.leased_at) / 2 < v_now));
            SELECT count(*) INTO v_count FROM "${schema}".permits p
            WHERE p.queue = p_queue AND p.name = p_names[i] AND p.key = p_keys[i] AND p.token <> p_tokens[i];
            IF v_count >= p_per_key[i] THEN
              granted := false;
              retry_after_ms := p_busy_ms;
            END IF;
          END IF;
          IF granted AND p_rate_max[i] IS NOT NULL THEN
            DELETE FROM "${schema}".rate_grants g
            WHERE g.queue = p_queue AND g.name = p_names[i]
              AND g.granted_at <= v_now - p_rate_ms[i] * interval '1 millisecond';
            SELECT count(*) INTO v_count FROM "${schema}".rate_grants g
            WHERE g.queue = p_queue AND g.name = p_names[i];
            IF v_count >= p_rate_max[i] THEN
              -- Sliding window: the next slot frees when the grant that
              -- would make room leaves the window.
              SELECT g.granted_at INTO v_oldest FROM "${schema}".rate_grants g
              WHERE g.queue = p_queue AND g.name = p_names[i]
              ORDER BY g.granted_at OFFSET v_count - p_rate_max[i] LIMIT 1;
              granted := false;
              retry_after_ms := greatest(1, ceil(extract(epoch FROM (v_oldest + p_rate_ms[i] * interval '1 millisecond' - v_now)) * 1000));
            END IF;
          END IF;
          IF granted THEN
            IF p_rate_max[i] IS NOT NULL THEN
              INSERT INTO "${schema}".rate_grants (queue, name, granted_at) VALUES (p_queue, p_names[i], v_now);
            END IF;
            IF p_per_key[i] IS NOT NULL AND p_keys[i] IS NOT NULL THEN
              INSERT INTO "${schema}".permits (queue, token, name, key, task_id)
              VALUES (p_queue, p_tokens[i], p_names[i], p_keys[i], p_ids[i])
              ON CONFLICT (queue, token) DO NOTHING;
            END IF;
          END IF;
          RETURN NEXT;
        END LOOP;
      END
      $fn$;

      -- The claim returns the concurrency key, and a new attempt starts
      -- without the progress of the last one.
      DROP FUNCTION "${schema}".claim(text, integer, float8);
      CREATE FUNCTION "${schema}".claim(p_queue text, p_max integer, p_lease_ms float8)
      RETURNS TABLE (id text, name text, payload text, encoding text, attempt integer, max_attempts integer,
                     priority integer, seq float8, enqueued_at float8, run_at float8, token text, trace_context text,
                     concurrency_key text)
      LANGUAGE sql VOLATILE
      SET enable_sort = off
      AS $fn$
        UPDATE "${schema}".tasks t
        SET state = 'running', lease_token = gen_random_uuid(), leased_at = now(),
            lease_until = now() + p_lease_ms * interval '1 millisecond', started_at = NULL, progress = NULL
        WHERE t.ctid = ANY(ARRAY(
                SELECT r.ctid FROM "${schema}".tasks r
                WHERE r.queue = p_queue AND r.state = 'queued' AND r.run_at <= now()
                ORDER BY r.priority DESC, r.run_at, r.seq
                LIMIT p_max
                FOR UPDATE SKIP LOCKED))
        RETURNING t.id, t.name, t.payload, t.payload_encoding, t.attempt, t.max_attempts, t.priority, t.seq::float8,
                  floor(extract(epoch FROM t.enqueued_at) * 1000)::float8, floor(extract(epoch FROM t.run_at) * 1000)::float8,
                  t.lease_token::text, t.trace_context, t.concurrency_key
      $fn$;
    `,
  },
  {
    version: 5,
    name: 'permits: one count per task name and key per batch; stray permits left to their holders and cleanup()',
    sql: (schema) => `
      -- The same answers as version 4's, for less: the window of a task
      -- name and the permits of a key are counted once per batch (then
      -- counted on in memory), and the grants of the batch are written at
      -- its end; version 4 counted the whole window again for every request,
      -- so a batch of 500 under a busy rate limit read 500 windows. Permits
      -- whose delivery no longer holds its lease are no longer deleted here:
      -- that DELETE and a holder's own delete after its outcome took the same
      -- rows in different orders and could deadlock. They count for nothing
      -- already (the count joins the task row), and are removed by their
      -- holder, or by cleanup() when the holder died.
      CREATE OR REPLACE FUNCTION "${schema}".acquire_permits(
        p_queue text, p_ids text[], p_tokens uuid[], p_names text[], p_keys text[],
        p_rate_max integer[], p_rate_ms float8[], p_per_key integer[], p_busy_ms float8)
      RETURNS TABLE (ord integer, granted boolean, retry_after_ms float8)
      LANGUAGE plpgsql VOLATILE
      AS $fn$
      DECLARE
        v_name text;
        v_now timestamptz;
        v_count integer;
        v_oldest timestamptz;
        v_at integer;
        v_slot text;
        -- Counts of this batch, per task name (rate) and per name and key (concurrency).
        v_rate_names text[] := '{}';
        v_rate_used integer[] := '{}';
        v_rate_stored integer[] := '{}';
        v_key_slots text[] := '{}';
        v_key_used integer[] := '{}';
        v_granted_names text[] := '{}';
        v_permits integer[] := '{}';
        i integer;
      BEGIN
        FOR v_name IN SELECT DISTINCT n FROM unnest(p_names) AS n ORDER BY n LOOP
          PERFORM pg_advisory_xact_lock(hashtextextended('nestjs-worker:permits:${schema}:' || p_queue || ':' || v_name, 0));
        END LOOP;
        v_now := clock_timestamp();
        FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
          ord := i;
          granted := true;
          retry_after_ms := 0;
          IF p_per_key[i] IS NOT NULL AND p_keys[i] IS NOT NULL THEN
            v_slot := p_names[i] || E'\\x1f' || p_keys[i];
            v_at := array_position(v_key_slots, v_slot);
            IF v_at IS NULL THEN
              -- Permits whose delivery still holds its lease on a running row.
              SELECT count(*) INTO v_count FROM "${schema}".permits p
              JOIN "${schema}".tasks t ON t.queue = p.queue AND t.id = p.task_id
              WHERE p.queue = p_queue AND p.name = p_names[i] AND p.key = p_keys[i] AND p.token <> ALL (p_tokens)
                AND t.lease_token = p.token AND t.state = 'running' AND t.lease_until >= v_now
                AND NOT (t.started_at IS NULL AND t.leased_at + (t.lease_until - t.leased_at) / 2 < v_now);
              v_key_slots := v_key_slots || v_slot;
              v_key_used := v_key_used || v_count;
              v_at := array_length(v_key_slots, 1);
            END IF;
            IF v_key_used[v_at] >= p_per_key[i] THEN
              granted := false;
              retry_after_ms := p_busy_ms;
            END IF;
          END IF;
          IF granted AND p_rate_max[i] IS NOT NULL THEN
            v_at := array_position(v_rate_names, p_names[i]);
            IF v_at IS NULL THEN
              DELETE FROM "${schema}".rate_grants g
              WHERE g.queue = p_queue AND g.name = p_names[i]
                AND g.granted_at <= v_now - p_rate_ms[i] * interval '1 millisecond';
              SELECT count(*) INTO v_count FROM "${schema}".rate_grants g
              WHERE g.queue = p_queue AND g.name = p_names[i];
              v_rate_names := v_rate_names || p_names[i];
              v_rate_used := v_rate_used || v_count;
              v_rate_stored := v_rate_stored || v_count;
              v_at := array_length(v_rate_names, 1);
            END IF;
            IF v_rate_used[v_at] >= p_rate_max[i] THEN
              -- Sliding window: the next slot frees when the grant that would
              -- make room leaves the window; one of this batch's leaves last.
              IF v_rate_used[v_at] - p_rate_max[i] < v_rate_stored[v_at] THEN
                SELECT g.granted_at INTO v_oldest FROM "${schema}".rate_grants g
                WHERE g.queue = p_queue AND g.name = p_names[i]
                ORDER BY g.granted_at OFFSET v_rate_used[v_at] - p_rate_max[i] LIMIT 1;
              ELSE
                v_oldest := v_now;
              END IF;
              granted := false;
              retry_after_ms := greatest(1, ceil(extract(epoch FROM (v_oldest + p_rate_ms[i] * interval '1 millisecond' - v_now)) * 1000));
            END IF;
          END IF;
          IF granted THEN
            IF p_rate_max[i] IS NOT NULL THEN
              v_rate_used[v_at] := v_rate_used[v_at] + 1;
              v_granted_names := v_granted_names || p_names[i];
            END IF;
            IF p_per_key[i] IS NOT NULL AND p_keys[i] IS NOT NULL THEN
              v_at := array_position(v_key_slots, v_slot);
              v_key_used[v_at] := v_key_used[v_at] + 1;
              v_permits := v_permits || i;
            END IF;
          END IF;
          RETURN NEXT;
        END LOOP;
        -- The batch's grants and permits, each in one statement.
        INSERT INTO "${schema}".rate_grants (queue, name, granted_at)
        SELECT p_queue, n, v_now FROM unnest(v_granted_names) AS n;
        INSERT INTO "${schema}".permits (queue, token, name, key, task_id)
        SELECT p_queue, p_tokens[j], p_names[j], p_keys[j], p_ids[j] FROM unnest(v_permits) AS j
        ON CONFLICT (queue, token) DO NOTHING;
      END
      $fn$;
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
