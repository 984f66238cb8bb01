/**
 * The statements of job control (issue 14): cancel, progress, unique keys,
 * permits (rate limits, concurrency keys) and schedule markers, for one
 * schema (validated by the options resolver). `$1` is always the queue.
 * Kept apart from PostgresStatements: none of these runs for a task that
 * uses none of the features.
 */

const millis = (param: string) => `(${param}::float8 * interval '1 millisecond')`;
/** The partial unique index of migration 4, as ON CONFLICT must name it. */
const UNIQUE_TARGET = `(queue, name, unique_key) WHERE unique_key IS NOT NULL AND state IN ('queued', 'running')`;
/** The enqueue columns as the statements unnest them ($2 .. $10, see EnqueueRow). */
const ROWS = `unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::float8[], $8::text[], $9::text[], $10::text[])`;
const ROWS_AND_REPLACE = `unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::float8[], $8::text[], $9::text[], $10::text[], $11::boolean[])`;
const ROW_NAMES = 'id, name, payload, priority, max_attempts, delay_ms, trace_context, unique_key, concurrency_key';

export class PostgresJobControlStatements {
  readonly table: string;

  constructor(
    readonly schema: string,
    /** NOTIFY channel of cancel notices (PostgresStatements.cancelChannel). */
    private readonly cancelChannel: string,
  ) {
    this.table = `"${schema}".tasks`;
  }

  /**
   * $2 id, $3 keep (ms, like a completed row). A waiting or running task
   * becomes cancelled. The row is locked first (FOR UPDATE in the sub-select)
   * so the state it had is read from the version being replaced, not from
   * the snapshot: a claim committed meanwhile makes it 'running', and its
   * holder gets the notice. The lease token stays, as after any outcome, so
   * that holder can tell "cancelled while I held it" from a lost lease. The
   * notice is sent on commit; a holder that misses it learns at its next
   * lease extension (fenced: state is no longer 'running').
   */
  get cancel(): string {
    return `
      WITH c AS (
        UPDATE ${this.table} t SET state = 'cancelled', finished_at = now(), expires_at = now() + ${millis('$3')},
                                   lease_until = NULL
        FROM (SELECT id, state FROM ${this.table} WHERE queue = $1 AND id = $2 FOR UPDATE) AS old
        WHERE t.queue = $1 AND t.id = old.id AND t.state IN ('queued', 'running')
        RETURNING t.id, old.state AS was)
      SELECT c.was,
             CASE WHEN c.was = 'running' THEN pg_notify('${this.cancelChannel}',
               json_build_object('queue', $1::text, 'ids', json_build_array(c.id))::text) END IS NULL AS quiet
      FROM c`;
  }

  /** $2 ids, $3 tokens, $4 progress (JSON text). Fenced like outcomes: only the delivery holding the lease writes. */
  get progress(): string {
    return `
      UPDATE ${this.table} t SET progress = v.progress
      FROM unnest($2::text[], $3::uuid[], $4::text[]) AS v(id, token, progress)
      WHERE t.queue = $1 AND t.id = v.id AND t.lease_token = v.token AND t.state = 'running'`;
  }

  /**
   * Rows with a unique key ($2 .. $10, see EnqueueRow; sorted by name and
   * key by the caller, so two batches wait for each other's keys in the same
   * order and never deadlock). A key already waiting or running, in this or
   * any other transaction, inserts nothing: ON CONFLICT on the partial
   * unique index waits for an uncommitted insert of the same key and then
   * skips the row. With `checkIds` (a row of the batch has an id of its
   * own), a row whose id exists is skipped too (one primary-key probe per
   * row; a concurrent insert of the same id fails the statement). Generated
   * ids cannot exist, and skip the probe. Returns the ids inserted.
   */
  enqueueUnique(checkIds: boolean): string {
    return `
      INSERT INTO ${this.table} (queue, id, name, payload, priority, max_attempts, run_at, trace_context, unique_key, concurrency_key)
      SELECT $1, v.id, v.name, v.payload, v.priority, v.max_attempts, now() + ${millis('v.delay_ms')}, v.trace_context,
             v.unique_key, v.concurrency_key
      FROM ${ROWS} WITH ORDINALITY AS v(${ROW_NAMES}, ord)
      ${checkIds ? `WHERE NOT EXISTS (SELECT 1 FROM ${this.table} x WHERE x.queue = $1 AND x.id = v.id)` : ''}
      ORDER BY v.ord
      ON CONFLICT ${UNIQUE_TARGET} DO NOTHING
      RETURNING id`;
  }

  /**
   * The rows enqueueUnique skipped ($2 .. $10, $11 replace flags): the task
   * holding each key, locked (in key order), replaced when asked and still
   * waiting (a running one is kept); or, for a row whose explicit id exists,
   * that id. Returns (ord, id) for each row settled so; a row missing from
   * the answer lost its holder in between (it finished) and is inserted on
   * the next round. A new statement, so it sees what other transactions
   * committed while enqueueUnique waited for them.
   */
  get enqueueDuplicates(): string {
    const t = this.table;
    return `
      WITH v AS (SELECT * FROM ${ROWS_AND_REPLACE} WITH ORDINALITY AS v(${ROW_NAMES}, replace, ord)),
      held AS (
        SELECT v.ord, t.id, t.state FROM v JOIN ${t} t
          ON t.queue = $1 AND t.name = v.name AND t.unique_key = v.unique_key AND t.state IN ('queued', 'running')
        ORDER BY t.name, t.unique_key
        FOR UPDATE OF t),
      replaced AS (
        UPDATE ${t} t SET payload = v.payload, payload_encoding = 'json', priority = v.priority,
                          max_attempts = v.max_attempts, run_at = now() + ${millis('v.delay_ms')},
                          trace_context = v.trace_context, concurrency_key = v.concurrency_key
        FROM held h JOIN v ON v.ord = h.ord
        WHERE t.queue = $1 AND t.id = h.id AND h.state = 'queued' AND v.replace AND t.state = 'queued'
        RETURNING t.id)
      SELECT h.ord::int AS ord, h.id FROM held h
      UNION ALL
      SELECT v.ord::int, v.id FROM v
      WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.ord = v.ord)
        AND EXISTS (SELECT 1 FROM ${t} x WHERE x.queue = $1 AND x.id = v.id)`;
  }

  /**
   * $2 ids, $3 tokens, $4 names, $5 concurrency keys, $6 rate maxima, $7
   * rate intervals (ms), $8 per-key limits, $9 retry delay when a key is
   * busy (ms). One answer per request, in order (see the function in
   * migration 4 for how it is atomic across processes).
   */
  get acquirePermits(): string {
    return `
      SELECT ord, granted, retry_after_ms
      FROM "${this.schema}".acquire_permits($1, $2::text[], $3::uuid[], $4::text[], $5::text[], $6::int[], $7::float8[], $8::int[], $9::float8)
      ORDER BY ord`;
  }

  /** $2 tokens. The permits of deliveries whose outcome is published. */
  get releasePermits(): string {
    return `DELETE FROM "${this.schema}".permits WHERE queue = $1 AND token = ANY($2::uuid[])`;
  }

  /**
   * Permits whose delivery no longer holds its lease (the process died
   * before publishing), for cleanup(). They count for nothing already; this
   * only keeps the table small. SKIP LOCKED: a holder deleting its own
   * permits at the same time keeps them, and neither waits for the other.
   */
  get strayPermits(): string {
    return `
      DELETE FROM "${this.schema}".permits d
      WHERE d.ctid = ANY(ARRAY(
        SELECT p.ctid FROM "${this.schema}".permits p
        WHERE p.queue = $1 AND p.granted_at < now() - interval '1 minute'
          AND NOT EXISTS (
            SELECT 1 FROM ${this.table} t
            WHERE t.queue = p.queue AND t.id = p.task_id AND t.lease_token = p.token AND t.state = 'running'
              AND t.lease_until >= now())
        FOR UPDATE SKIP LOCKED))`;
  }

  /**
   * $2 key, $3 tick (epoch ms), $4 whether a missing marker fires. Records
   * the tick when it is later than the marker's (or there is none), and says
   * whether this offer fires it. N processes offering the same tick: the
   * first inserts or updates the marker; the others wait for its row lock
   * (ON CONFLICT DO UPDATE), then find the tick no longer later and change
   * nothing. Runs in the transaction that enqueues the fire.
   */
  get markSchedule(): string {
    return `
      INSERT INTO "${this.schema}".schedules AS s (queue, key, last_tick) VALUES ($1, $2, $3::bigint)
      ON CONFLICT (queue, key) DO UPDATE SET last_tick = EXCLUDED.last_tick, fired_at = now()
        WHERE s.last_tick < EXCLUDED.last_tick
      RETURNING (xmax = 0 AND NOT $4::boolean) AS only_recorded`;
  }
}
