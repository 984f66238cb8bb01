import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  claimOrder,
  decodePayload,
  encodeTask,
  settleColumns,
  toRecord,
  type ClaimedRow,
  type RecordRow,
} from '../../lib/clients/postgres/postgres.codec.js';
import { errorJson } from '../../lib/clients/kit/json.encoder.js';
import type { TaskEnvelope } from '../../lib/interfaces/task-client.interface.js';

describe('PostgresTaskClient codec', () => {
  it('decodes JSON payloads, SQL NULL as undefined, and names what is wrong with the others', () => {
    assert.deepEqual(decodePayload('{"a":[1,"\\u0000"]}', 'json'), { ok: true, value: { a: [1, '\u0000'] } });
    assert.deepEqual(decodePayload(null, 'json'), { ok: true, value: undefined });
    const broken = decodePayload('{"a":', 'json');
    assert.ok(!broken.ok && /not valid JSON/.test(broken.problem));
    const unknown = decodePayload('gqFhAQ==', 'msgpack');
    assert.ok(!unknown.ok && /payload_encoding "msgpack" is not one this client reads/.test(unknown.problem));
  });

  it('writes errors that jsonb accepts: no NUL, no lone surrogate, BigInt as text; never throws', () => {
    const json = errorJson({ name: 'Error', message: 'a\u0000b\uD800c', props: { big: 10n as unknown, fine: 'é😀' } });
    assert.doesNotMatch(json, /\\u0000|\\ud800/i);
    assert.deepEqual(JSON.parse(json), {
      name: 'Error',
      message: 'a\uFFFDb\uFFFDc',
      props: { big: '10', fine: 'é😀' },
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.deepEqual(JSON.parse(errorJson({ name: 'TypeError', message: 'm', props: cyclic })), {
      name: 'TypeError',
      message: 'm',
      props: { self: '[Circular]' },
    });
  });

  it('checks enqueue input before anything is written, and generates ids', () => {
    const [id, name, payload, priority, maxAttempts, delayMs] = encodeTask({ name: 'x', payload: { a: 1 } });
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.deepEqual([name, payload, priority, maxAttempts, delayMs], ['x', '{"a":1}', 0, null, 0]);
    assert.equal(encodeTask({ name: 'x' })[2], null, 'no payload is SQL NULL');
    assert.throws(() => encodeTask({ name: '' }), /task name must be a non-empty string/);
    assert.throws(() => encodeTask({ name: 'x', priority: 1.5 }), /"priority" must be an integer/);
    assert.throws(() => encodeTask({ name: 'x', delayMs: -1 }), /"delayMs" must be a number of milliseconds >= 0/);
    assert.throws(() => encodeTask({ name: 'x', maxAttempts: 0 }), /"maxAttempts" must be a whole number of attempts/);
    assert.throws(() => encodeTask({ name: 'x', payload: { n: 1n } }), /payload of task "x" cannot be written as JSON/);
    assert.throws(
      () => encodeTask({ name: 'resize', priority: 2 ** 31 }, 7),
      /^TypeError: PostgresTaskClient\.enqueue\(\): tasks\[7\]: task "resize": "priority" must be an integer from/,
    );
  });

  it('groups outcomes column-wise per kind, leaving out deliveries of other clients', () => {
    const task = (id: string, receipt?: unknown): TaskEnvelope => ({
      id,
      name: 'n',
      payload: null,
      attempt: 1,
      receipt,
    });
    const error = { name: 'Error', message: 'e' };
    const notJson: string[] = [];
    const { columns, sent } = settleColumns(
      [
        { status: 'completed', task: task('c1', 't1'), result: { ok: 1 }, durationMs: 1 },
        { status: 'completed', task: task('c2', 't2'), result: 5n, durationMs: 1 },
        { status: 'failed', task: task('f', 't3'), reason: 'unknown-task', error },
        { status: 'retry', task: task('r', 't4'), reason: 'error', error, nextAttempt: 2, delayMs: 250, runAt: 0 },
        { status: 'released', task: task('l', 't5') },
        { status: 'released', task: task('l2', 't6'), delayMs: 1500 },
        { status: 'released', task: task('l3', 't7'), delayMs: Number.NaN },
        { status: 'released', task: task('other', { entryId: '1-0' }) },
        { status: 'cancelled', task: task('x', 't8'), started: true },
      ],
      (t) => notJson.push(t.id),
    );
    assert.equal(sent, 8);
    assert.deepEqual(notJson, ['c2']);
    assert.deepEqual(columns, [
      ['c1', 'c2'],
      ['t1', 't2'],
      ['{"ok":1}', null],
      ['f'],
      ['t3'],
      [JSON.stringify(error)],
      ['unknown-task'],
      ['r'],
      ['t4'],
      [JSON.stringify(error)],
      [2],
      [250],
      ['l', 'l2', 'l3'],
      ['t5', 't6', 't7'],
      [0, 1500, 0],
      ['x'],
      ['t8'],
    ]);
  });

  it('orders claimed rows as the claim does, and shows rows as TaskRecords', () => {
    const row = (id: string, priority: number, run_at: number, seq: number) =>
      ({ id, priority, run_at, seq }) as ClaimedRow;
    const rows = [row('a', 0, 1, 1), row('b', 5, 9, 9), row('c', 0, 1, 0), row('d', 0, 0, 7)];
    assert.deepEqual(
      rows.sort(claimOrder).map((r) => r.id),
      ['b', 'd', 'c', 'a'],
    );
    const base: RecordRow = {
      id: 'i',
      name: 'n',
      payload: '[1]',
      encoding: 'json',
      state: 'queued',
      later: true,
      attempt: 2,
      max_attempts: null,
      priority: 0,
      enqueued_at: 1,
      run_at: 2,
      result: null,
      errors: '[{"name":"Error","message":"x"}]',
      failure_reason: null,
      finished_at: null,
      progress: null,
      unique_key: null,
      concurrency_key: null,
    };
    assert.deepEqual(toRecord(base), {
      id: 'i',
      name: 'n',
      payload: [1],
      state: 'delayed',
      attempt: 2,
      priority: 0,
      enqueuedAt: 1,
      runAt: 2,
      errors: [{ name: 'Error', message: 'x' }],
    });
    const dead = toRecord({
      ...base,
      payload: '{bad',
      state: 'failed',
      later: false,
      failure_reason: 'invalid-payload',
      finished_at: 3,
      max_attempts: 4,
    });
    assert.equal(dead.payload, '{bad', 'an undecodable payload is shown as stored');
    assert.equal(dead.state, 'failed');
    assert.equal(dead.maxAttempts, 4);
    assert.equal(dead.finishedAt, 3);
    const cancelled = toRecord({
      ...base,
      state: 'cancelled',
      progress: '{"pct":50}',
      unique_key: 'u',
      concurrency_key: 'k',
    });
    assert.equal(cancelled.state, 'cancelled', 'a cancelled row is cancelled, even if its run time is ahead');
    assert.deepEqual(cancelled.progress, { pct: 50 });
    assert.equal(cancelled.uniqueKey, 'u');
    assert.equal(cancelled.concurrencyKey, 'k');
    assert.equal(toRecord({ ...base, progress: 'not json' }).progress, 'not json');
  });
});
