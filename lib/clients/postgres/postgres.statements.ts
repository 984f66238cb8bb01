/**
 * Every statement of the client, for one schema (validated as a plain
 * lowercase identifier by the options resolver). `$1` is always the queue.
 * Batches travel as arrays (`unnest`), so the statement count per batch is
 * fixed, never one per task.
 */

/** Epoch milliseconds as float8 (a JS number whatever type parsers the pool has). */
const ms = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;
const millis = (param: string) => `(${param}::float8 * interval '1 millisecond')`;
/** Clears the lease: the row is no longer held by anyone. */
const unlease = 'lease_token = NULL, lease_until = NULL';
/**
 * Outcome fencing: only the claim that holds the current token may settle a
 * row. A process whose lease ran out and was taken back (new token, or none)
 * updates nothing, and the caller counts that as a stale outcome. Repeated in
 * every UPDATE so that READ COMMITTED's re-check after a lock wait applies it
 * to the newest row version.
 */
const fenced = (t: string, v: string) =>
  `${t}.queue = $1 AND ${t}.id = ${v}.id AND ${t}.lease_token = ${v}.token AND ${t}.state = 'running'`;

export class PostgresStatements {
  readonly table: string;
  /** LISTEN channel; the trigger builds the same name from TG_TABLE_SCHEMA. */
  readonly channel: string;

  constructor(readonly schema: string) {
    this.table = `"${schema}".tasks`;
    this.channel = `${schema}.tasks`;
  }

  get listen(): string {
    return `LISTEN "${this.channel}"`;
  }

  /** $2 ids, $3 names, $4 payloads, $5 priorities, $6 max attempts, $7 delays (ms). Existing ids are kept as they are. */
  get enqueue(): string {
    return `
      INSERT INTO ${this.table} (queue, id, name, payload, priority, max_attempts, run_at)
      SELECT $1, v.id, v.name, v.payload, v.priority, v.max_attempts, now() + ${millis('v.delay_ms')}
      FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::float8[])
           WITH ORDINALITY AS v(id, name, payload, priority, max_attempts, delay_ms, ord)
      ORDER BY v.ord
      ON CONFLICT (queue, id) DO NOTHING`;
  }

  /**
   * $2 max, $3 lease (ms). SKIP LOCKED lets any number of consumers claim at
   * once without waiting for each other and without ever getting the same
   * row: a row locked by another claim is simply not a candidate. The
   * partial index gives the order without sorting the queue.
   */
  get claim(): string {
    return `
      WITH picked AS (
        SELECT id FROM ${this.table}
        WHERE queue = $1 AND state = 'queued' AND run_at <= now()
        ORDER BY priority DESC, run_at, seq
        LIMIT $2
        FOR UPDATE SKIP LOCKED
      )
      UPDATE ${this.table} t
      SET state = 'running', lease_token = gen_random_uuid(), lease_until = now() + ${millis('$3')}
      FROM picked
      WHERE t.queue = $1 AND t.id = picked.id
      RETURNING t.id, t.name, t.payload, t.payload_encoding AS encoding, t.attempt, t.max_attempts,
                t.priority, t.seq::float8 AS seq, ${ms('t.enqueued_at')} AS enqueued_at, ${ms('t.run_at')} AS run_at,
                t.lease_token::text AS token`;
  }

  /** $2 ids, $3 tokens, $4 lease (ms). Returns the rows still held. */
  get extend(): string {
    return `
      UPDATE ${this.table} t SET lease_until = now() + ${millis('$4')}
      FROM unnest($2::text[], $3::uuid[]) AS v(id, token)
      WHERE ${fenced('t', 'v')}
      RETURNING t.id`;
  }

  /**
   * All four outcome kinds in one statement: one round trip, and atomic, so a
   * batch retried after a lost connection is either wholly applied already
   * (then fenced) or not at all. A task appears in at most one kind with its
   * token, so no two CTEs update the same row.
   * $2 keepCompletedMs, $3 keepFailedMs;
   * completed: $4 ids, $5 tokens, $6 results;
   * failed: $7 ids, $8 tokens, $9 errors, $10 reasons;
   * retry: $11 ids, $12 tokens, $13 errors, $14 next attempts, $15 delays (ms);
   * released: $16 ids, $17 tokens.
   */
  get settle(): string {
    const t = this.table;
    return `
      WITH
      c AS (
        UPDATE ${t} t SET state = 'completed', result = v.result, finished_at = now(), expires_at = now() + ${millis('$2')}, ${unlease}
        FROM unnest($4::text[], $5::uuid[], $6::text[]) AS v(id, token, result)
        WHERE ${fenced('t', 'v')}
        RETURNING t.id),
      f AS (
        UPDATE ${t} t SET state = 'failed', errors = t.errors || jsonb_build_array(v.error::jsonb), failure_reason = v.reason,
                          finished_at = now(), expires_at = now() + ${millis('$3')}, ${unlease}
        FROM unnest($7::text[], $8::uuid[], $9::text[], $10::text[]) AS v(id, token, error, reason)
        WHERE ${fenced('t', 'v')}
        RETURNING t.id),
      r AS (
        UPDATE ${t} t SET state = 'queued', attempt = v.next_attempt, run_at = now() + ${millis('v.delay_ms')},
                          errors = t.errors || jsonb_build_array(v.error::jsonb), ${unlease}
        FROM unnest($11::text[], $12::uuid[], $13::text[], $14::int[], $15::float8[]) AS v(id, token, error, next_attempt, delay_ms)
        WHERE ${fenced('t', 'v')}
        RETURNING t.id),
      l AS (
        -- run_at and seq are kept: a released task goes back to its place in line.
        UPDATE ${t} t SET state = 'queued', ${unlease}
        FROM unnest($16::text[], $17::uuid[]) AS v(id, token)
        WHERE ${fenced('t', 'v')}
        RETURNING t.id)
      SELECT array(SELECT id FROM c) AS completed, array(SELECT id FROM f) AS failed,
             array(SELECT id FROM r) AS retried, array(SELECT id FROM l) AS released`;
  }

  /** $2 limit. Leases that ran out: their holder died or stalled. Read without locks; the update below is fenced. */
  get expired(): string {
    return `
      SELECT id, name, attempt, lease_token::text AS token FROM ${this.table}
      WHERE queue = $1 AND state = 'running' AND lease_until < now()
      ORDER BY lease_until
      LIMIT $2`;
  }

  /**
   * $2 ids, $3 tokens, $4 errors; $5 task names and $6 their attempt limits
   * (the @Task policies this process registered), $7 the limit of any other
   * name; $8 keepFailedMs.
   * Takes expired leases back: the attempt counts (error appended), then the
   * row is queued as the next attempt, or dead-lettered as a crash when that
   * was its last one: its own max_attempts, else its name's registered
   * limit, else $7. Decided here, on the row as locked, so the limit applied
   * is the one of the attempt being charged. SKIP LOCKED: a row being
   * settled or extended by its holder right now is left to it (its lease is
   * alive after all), and the reaper never waits on a holder, so the two
   * cannot deadlock.
   */
  get takeBack(): string {
    const t = this.table;
    return `
      WITH v AS (SELECT * FROM unnest($2::text[], $3::uuid[], $4::text[]) AS v(id, token, error)),
      limits AS (SELECT * FROM unnest($5::text[], $6::int[]) AS l(name, max_attempts)),
      locked AS (
        SELECT t.id, t.attempt >= coalesce(t.max_attempts, l.max_attempts, $7::int) AS dead
        FROM ${t} t JOIN v ON ${fenced('t', 'v')} AND t.lease_until < now()
        LEFT JOIN limits l ON l.name = t.name
        FOR UPDATE OF t SKIP LOCKED)
      UPDATE ${t} t SET
        errors = t.errors || jsonb_build_array(v.error::jsonb),
        state = CASE WHEN locked.dead THEN 'failed' ELSE 'queued' END,
        attempt = CASE WHEN locked.dead THEN t.attempt ELSE t.attempt + 1 END,
        failure_reason = CASE WHEN locked.dead THEN 'crash' END,
        finished_at = CASE WHEN locked.dead THEN now() END,
        expires_at = CASE WHEN locked.dead THEN now() + ${millis('$8')} END,
        ${unlease}
      FROM v JOIN locked ON locked.id = v.id
      WHERE ${fenced('t', 'v')} AND t.lease_until < now()
      RETURNING t.id, t.state`;
  }

  /** $2 limit. SKIP LOCKED: several cleaners (one per process) share the work instead of queueing on row locks. */
  get cleanup(): string {
    return `
      WITH doomed AS (
        SELECT id FROM ${this.table}
        WHERE queue = $1 AND expires_at < now() AND state IN ('completed', 'failed')
        LIMIT $2
        FOR UPDATE SKIP LOCKED)
      DELETE FROM ${this.table} t USING doomed WHERE t.queue = $1 AND t.id = doomed.id`;
  }

  /** $2 id. */
  get get(): string {
    return `
      SELECT id, name, payload, payload_encoding AS encoding, state, run_at > now() AS later, attempt, max_attempts, priority,
             ${ms('enqueued_at')} AS enqueued_at, ${ms('run_at')} AS run_at, result, errors::text AS errors, failure_reason,
             ${ms('finished_at')} AS finished_at
      FROM ${this.table} WHERE queue = $1 AND id = $2`;
  }

  get counts(): string {
    return `
      SELECT CASE WHEN state = 'queued' AND run_at > now() THEN 'delayed' ELSE state END AS state, count(*)::float8 AS n
      FROM ${this.table} WHERE queue = $1 GROUP BY 1`;
  }
}
