/**
 * Every statement of the client, for one schema (validated as a plain
 * lowercase identifier by the options resolver). `$1` is always the queue.
 * Batches travel as arrays (`unnest`), so the statement count per batch is
 * fixed, never one per task.
 */

/** Epoch milliseconds as float8 (a JS number whatever type parsers the pool has). */
const ms = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;
const millis = (param: string) => `(${param}::float8 * interval '1 millisecond')`;
/**
 * Ends the lease of a settled row. The token stays: it says which claim
 * settled the row, so that this process can tell an outcome it recorded
 * itself (a publish whose reply was lost, a lease extension that crossed its
 * own publish) from a delivery it lost. Every fenced statement also requires
 * `state = 'running'`, so a kept token settles nothing a second time, and the
 * next claim replaces it.
 */
const settled = 'lease_until = NULL';
/** Lease expiries before a start mark, per attempt, that are not charged; the next one is. */
export const FREE_UNSTARTED_EXPIRIES = 2;
/**
 * A lease that is over: it ran out, or there is none; or the delivery never
 * reached a thread and nobody extended it for half of its lease (measured by
 * the holder's own lease, `leased_at` to `lease_until`, so processes with
 * different `leaseMs` judge each other right). A live holder extends a third
 * of a lease apart, so this never takes from one; a holder that died
 * strands its prefetched deliveries for half a lease instead of a whole one
 * (they go back uncharged either way).
 */
const expiredLease = (t: string) =>
  `(${t}lease_until < now() OR ${t}lease_until IS NULL OR (${t}started_at IS NULL AND ${t}leased_at + (${t}lease_until - ${t}leased_at) / 2 < now()))`;
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
  /** LISTEN channel of cancel notices (`cancel()` of a running task): `{ queue, ids }`. */
  readonly cancelChannel: string;

  constructor(readonly schema: string) {
    this.table = `"${schema}".tasks`;
    this.channel = `${schema}.tasks`;
    this.cancelChannel = `${schema}.cancels`;
  }

  /** Both channels, on the one LISTEN connection. */
  get listen(): string {
    return `LISTEN "${this.channel}"; LISTEN "${this.cancelChannel}"`;
  }

  /**
   * $2 ids, $3 names, $4 payloads, $5 priorities, $6 max attempts, $7 delays (ms), $8 trace contexts,
   * $9 unique keys (all null: rows with a key go through the unique statements), $10 concurrency keys.
   * Existing ids are kept as they are.
   */
  get enqueue(): string {
    return `
      INSERT INTO ${this.table} (queue, id, name, payload, priority, max_attempts, run_at, trace_context, unique_key, concurrency_key)
      SELECT $1, v.id, v.name, v.payload, v.priority, v.max_attempts, now() + ${millis('v.delay_ms')}, v.trace_context,
             v.unique_key, v.concurrency_key
      FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::float8[], $8::text[], $9::text[], $10::text[])
           WITH ORDINALITY AS v(id, name, payload, priority, max_attempts, delay_ms, trace_context, unique_key, concurrency_key, ord)
      ORDER BY v.ord
      ON CONFLICT (queue, id) DO NOTHING`;
  }

  /**
   * $2 max, $3 lease (ms). SKIP LOCKED lets any number of consumers claim at
   * once without waiting for each other and without ever getting the same
   * row: a row locked by another claim is simply not a candidate. The
   * function (migration 2) keeps the plan the same whatever the table's
   * statistics say: the ready index in claim order, then the rows by ctid.
   */
  get claim(): string {
    return `
      SELECT c.id, c.name, c.payload, c.encoding, c.attempt, c.max_attempts, c.priority, c.seq,
             c.enqueued_at, c.run_at, c.token, c.trace_context, c.concurrency_key
      FROM "${this.schema}".claim($1, $2, $3::float8) AS c`;
  }

  /**
   * $2 ids, $3 tokens. Records that these deliveries reached a worker
   * thread: their lease running out now charges an attempt.
   */
  get markStarted(): string {
    return `
      UPDATE ${this.table} t SET started_at = now()
      FROM unnest($2::text[], $3::uuid[]) AS v(id, token)
      WHERE ${fenced('t', 'v')} AND t.started_at IS NULL`;
  }

  /** $2 ids, $3 tokens, $4 lease (ms). Returns the 1-based positions of the deliveries whose lease was extended. */
  get extend(): string {
    return `
      UPDATE ${this.table} t SET lease_until = now() + ${millis('$4')}, leased_at = now()
      FROM unnest($2::text[], $3::uuid[]) WITH ORDINALITY AS v(id, token, ord)
      WHERE ${fenced('t', 'v')}
      RETURNING v.ord::int AS ord`;
  }

  /**
   * $2 ids, $3 tokens. The 1-based positions of the deliveries that these
   * very claims have settled already: an outcome of ours committed while a
   * lease extension waited its turn, or a publish retried after its reply
   * was lost; or that were cancelled while these claims held them (state
   * 'cancelled': cancel() keeps the token too). Only asked about deliveries
   * a fenced statement did not match, which is rare. One primary-key lookup
   * per delivery (LATERAL ... LIMIT 1 admits no other plan), so it costs the
   * same on a queue of any size whatever the statistics say.
   */
  get settledBy(): string {
    return `
      SELECT v.ord::int AS ord, t.state
      FROM unnest($2::text[], $3::uuid[]) WITH ORDINALITY AS v(id, token, ord)
      CROSS JOIN LATERAL (
        SELECT t.state, t.lease_token FROM ${this.table} t WHERE t.queue = $1 AND t.id = v.id LIMIT 1) AS t
      WHERE t.lease_token = v.token AND t.state <> 'running'`;
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
   * released: $16 ids, $17 tokens, $18 delays (ms);
   * cancelled: $19 ids, $20 tokens (normally already cancelled by cancel(),
   * then it matches nothing: the state is what closes the delivery).
   * Returns the ids applied per kind.
   */
  get settle(): string {
    const t = this.table;
    return `
      WITH
      c AS (
        UPDATE ${t} t SET state = 'completed', result = v.result, finished_at = now(), expires_at = now() + ${millis('$2')}, ${settled}
        FROM unnest($4::text[], $5::uuid[], $6::text[]) AS v(id, token, result)
        WHERE ${fenced('t', 'v')}
        RETURNING t.id),
      f AS (
        UPDATE ${t} t SET state = 'failed', errors = t.errors || jsonb_build_array(v.error::jsonb), failure_reason = v.reason,
                          finished_at = now(), expires_at = now() + ${millis('$3')}, ${settled}
        FROM unnest($7::text[], $8::uuid[], $9::text[], $10::text[]) AS v(id, token, error, reason)
        WHERE ${fenced('t', 'v')}
        RETURNING t.id),
      r AS (
        UPDATE ${t} t SET state = 'queued', attempt = v.next_attempt, run_at = now() + ${millis('v.delay_ms')},
                          errors = t.errors || jsonb_build_array(v.error::jsonb), ${settled}
        FROM unnest($11::text[], $12::uuid[], $13::text[], $14::int[], $15::float8[]) AS v(id, token, error, next_attempt, delay_ms)
        WHERE ${fenced('t', 'v')}
        RETURNING t.id),
      l AS (
        -- run_at and seq are kept: a released task goes back to its place in
        -- line, unless it must wait (a rate limit, a busy concurrency key):
        -- then it is due after the delay, and the attempt is not charged.
        UPDATE ${t} t SET state = 'queued', ${settled},
                          run_at = CASE WHEN v.delay_ms > 0 THEN now() + ${millis('v.delay_ms')} ELSE t.run_at END
        FROM unnest($16::text[], $17::uuid[], $18::float8[]) AS v(id, token, delay_ms)
        WHERE ${fenced('t', 'v')}
        RETURNING t.id),
      x AS (
        UPDATE ${t} t SET state = 'cancelled', finished_at = now(), expires_at = now() + ${millis('$2')}, ${settled}
        FROM unnest($19::text[], $20::uuid[]) AS v(id, token)
        WHERE ${fenced('t', 'v')}
        RETURNING t.id)
      SELECT array(SELECT id FROM c) AS completed, array(SELECT id FROM f) AS failed,
             array(SELECT id FROM r) AS retried, array(SELECT id FROM l) AS released,
             array(SELECT id FROM x) AS cancelled`;
  }

  /**
   * $2 limit, $3 half a lease (ms). Leases that are over (see
   * expiredLease): their holder died or stalled. Only leases with less than
   * $3 left are read, which the index keeps to the few that may be over (a
   * live holder's leases have two thirds of a lease left or more); one of a
   * process with a longer lease is found later, still before it runs out.
   * Read without locks; the update below is fenced.
   */
  get expired(): string {
    return `
      SELECT id, name, attempt, lease_token::text AS token FROM ${this.table}
      WHERE queue = $1 AND state = 'running' AND (lease_until IS NULL OR lease_until < now() + ${millis('$3')})
        AND ${expiredLease('')}
      ORDER BY lease_until NULLS FIRST
      LIMIT $2`;
  }

  /**
   * $2 ids, $3 tokens (null for a row leased by nobody), $4 errors; $5 task
   * names and $6 their attempt limits (the @Task policies this process
   * registered), $7 the limit of any other name; $8 keepFailedMs.
   *
   * Takes expired leases back. A delivery that had reached a thread (start
   * mark) is charged: its error appended, then queued as the next attempt,
   * or dead-lettered as a crash when that was its last one: its own
   * max_attempts, else its name's registered limit, else $7. One that never
   * started (prefetched by a process that died) goes back as the same
   * attempt, uncharged, unless it is the FREE_UNSTARTED_EXPIRIES + 1st such
   * expiry of the attempt: a task that kills its process before its start
   * mark lands (or a consumer that never sends start marks) must still end
   * dead-lettered. Decided here, on the row as locked. SKIP LOCKED: a row
   * being settled or extended by its holder right now is left to it (its
   * lease is alive after all), and the reaper never waits on a holder, so
   * the two cannot deadlock.
   */
  get takeBack(): string {
    const t = this.table;
    // Fenced like every other write, with IS NOT DISTINCT FROM for a row that never had a token.
    const expiredRow = `t.queue = $1 AND t.id = v.id AND t.lease_token IS NOT DISTINCT FROM v.token
        AND t.state = 'running' AND ${expiredLease('t.')}`;
    return `
      WITH v AS (SELECT * FROM unnest($2::text[], $3::uuid[], $4::text[]) AS v(id, token, error)),
      limits AS (SELECT * FROM unnest($5::text[], $6::int[]) AS l(name, max_attempts)),
      locked AS (
        SELECT t.id,
               t.started_at IS NOT NULL OR t.unstarted_expiries >= ${FREE_UNSTARTED_EXPIRIES} AS charged,
               t.attempt >= coalesce(t.max_attempts, l.max_attempts, $7::int) AS last
        FROM ${t} t JOIN v ON ${expiredRow}
        LEFT JOIN limits l ON l.name = t.name
        FOR UPDATE OF t SKIP LOCKED),
      decided AS (SELECT id, charged, charged AND last AS dead FROM locked)
      UPDATE ${t} t SET
        errors = CASE WHEN d.charged THEN t.errors || jsonb_build_array(v.error::jsonb) ELSE t.errors END,
        state = CASE WHEN d.dead THEN 'failed' ELSE 'queued' END,
        attempt = CASE WHEN d.charged AND NOT d.dead THEN t.attempt + 1 ELSE t.attempt END,
        unstarted_expiries = CASE WHEN d.charged THEN 0 ELSE t.unstarted_expiries + 1 END,
        failure_reason = CASE WHEN d.dead THEN 'crash' END,
        finished_at = CASE WHEN d.dead THEN now() END,
        expires_at = CASE WHEN d.dead THEN now() + ${millis('$8')} END,
        started_at = NULL, lease_token = NULL, lease_until = NULL, leased_at = NULL
      FROM v JOIN decided d ON d.id = v.id
      WHERE ${expiredRow}
      RETURNING t.id, t.state, d.charged`;
  }

  /** $2 limit. SKIP LOCKED: several cleaners (one per process) share the work instead of queueing on row locks. */
  get cleanup(): string {
    return `
      WITH doomed AS (
        SELECT id FROM ${this.table}
        WHERE queue = $1 AND expires_at < now() AND state IN ('completed', 'failed', 'cancelled')
        LIMIT $2
        FOR UPDATE SKIP LOCKED)
      DELETE FROM ${this.table} t USING doomed WHERE t.queue = $1 AND t.id = doomed.id`;
  }

  /** $2 id. */
  get get(): string {
    return `
      SELECT id, name, payload, payload_encoding AS encoding, state, run_at > now() AS later, attempt, max_attempts, priority,
             ${ms('enqueued_at')} AS enqueued_at, ${ms('run_at')} AS run_at, result, errors::text AS errors, failure_reason,
             ${ms('finished_at')} AS finished_at, progress, unique_key, concurrency_key
      FROM ${this.table} WHERE queue = $1 AND id = $2`;
  }

  /**
   * $2 id. A dead letter back in the queue as attempt 1 (its errors kept),
   * ahead of nothing: it runs after what is queued now (a fresh seq). Its
   * unique key goes with it unless another task holds the key by now; then
   * it runs without one.
   */
  get retryDeadLetter(): string {
    return `
      UPDATE ${this.table} t SET state = 'queued', attempt = 1, run_at = now(),
             seq = DEFAULT,
             unique_key = CASE WHEN EXISTS (
               SELECT 1 FROM ${this.table} x
               WHERE x.queue = t.queue AND x.name = t.name AND x.unique_key = t.unique_key
                 AND x.state IN ('queued', 'running')) THEN NULL ELSE t.unique_key END,
             failure_reason = NULL, finished_at = NULL, expires_at = NULL, unstarted_expiries = 0,
             started_at = NULL, lease_token = NULL, lease_until = NULL, leased_at = NULL
      WHERE queue = $1 AND id = $2 AND state = 'failed'
      RETURNING id`;
  }

  /** $2 limit. Dead letters, newest first (tasks_failed_idx). */
  get deadLetters(): string {
    return `
      SELECT id, name, payload, payload_encoding AS encoding, attempt, failure_reason, errors::text AS errors,
             ${ms('finished_at')} AS finished_at
      FROM ${this.table} WHERE queue = $1 AND state = 'failed'
      ORDER BY finished_at DESC
      LIMIT $2`;
  }

  get counts(): string {
    return `
      SELECT CASE WHEN state = 'queued' AND run_at > now() THEN 'delayed' ELSE state END AS state, count(*)::float8 AS n
      FROM ${this.table} WHERE queue = $1 GROUP BY 1`;
  }
}
