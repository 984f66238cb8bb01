import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEnqueue, INT4_MAX, payloadJson } from '../../lib/clients/kit/enqueue.validator.js';

describe('checkEnqueue: one rule set for every client', () => {
  it('fills in the defaults and keeps what it was given', () => {
    assert.deepEqual(checkEnqueue('C', { name: 'resize', payload: { w: 1 } }), {
      name: 'resize',
      payload: { w: 1 },
      id: undefined,
      delayMs: 0,
      priority: 0,
      maxAttempts: undefined,
      uniqueKey: undefined,
      onDuplicate: 'keep',
      concurrencyKey: undefined,
    });
    const keys = { uniqueKey: undefined, onDuplicate: 'keep', concurrencyKey: undefined };
    assert.deepEqual(
      checkEnqueue('C', { name: 'n', id: 'mine', delayMs: 1.5, priority: -INT4_MAX, maxAttempts: INT4_MAX }),
      { name: 'n', payload: undefined, id: 'mine', delayMs: 1.5, priority: -INT4_MAX, maxAttempts: INT4_MAX, ...keys },
    );
    assert.deepEqual(
      checkEnqueue('C', { name: 'n', uniqueKey: 'u', onDuplicate: 'replace', concurrencyKey: 'tenant' }),
      {
        name: 'n',
        payload: undefined,
        id: undefined,
        delayMs: 0,
        priority: 0,
        maxAttempts: undefined,
        uniqueKey: 'u',
        onDuplicate: 'replace',
        concurrencyKey: 'tenant',
      },
    );
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ['not an object', 'resize', /each task must be an object with a "name", got "resize"/],
    ['no name', { payload: 1 }, /the task name must be a non-empty string, got undefined/],
    ['an empty id', { name: 'resize', id: '' }, /task "resize": "id" must be a non-empty string/],
    [
      'a negative delay',
      { name: 'resize', delayMs: -1 },
      /task "resize": "delayMs" must be a number of milliseconds >= 0, got -1/,
    ],
    ['an infinite delay', { name: 'resize', delayMs: Infinity }, /"delayMs" must be .*, got Infinity/],
    [
      'a fractional priority',
      { name: 'resize', priority: 1.5 },
      /task "resize": "priority" must be an integer from -2147483647 to 2147483647, got 1\.5/,
    ],
    ['a priority out of range', { name: 'resize', priority: 2 ** 31 }, /"priority" must be an integer/],
    [
      'zero attempts',
      { name: 'resize', maxAttempts: 0 },
      /task "resize": "maxAttempts" must be a whole number of attempts from 1/,
    ],
    ['attempts as text', { name: 'resize', maxAttempts: '3' }, /"maxAttempts" must be .*, got "3"/],
  ];
  for (const [what, task, message] of refused) {
    it(`refuses ${what}, naming the client, the task and the field`, () => {
      assert.throws(
        () => checkEnqueue('RedisTaskClient', task, 4),
        (error: Error) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /^RedisTaskClient\.enqueue\(\): tasks\[4\]: /);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('bounds what it echoes of a hostile name', () => {
    assert.throws(
      () => checkEnqueue('C', { name: 'n'.repeat(1_000_000), priority: 0.5 }),
      (error: Error) => error.message.length < 400,
    );
  });

  it('writes payloads as JSON exactly, or refuses them naming the task', () => {
    assert.equal(payloadJson('C', checkEnqueue('C', { name: 'n', payload: { a: '\u0000' } })), '{"a":"\\u0000"}');
    assert.equal(payloadJson('C', checkEnqueue('C', { name: 'n' })), undefined);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(
      () => payloadJson('PostgresTaskClient', checkEnqueue('C', { name: 'n', payload: cyclic }), 2),
      /^TypeError: PostgresTaskClient\.enqueue\(\): tasks\[2\]: the payload of task "n" cannot be written as JSON \(.*circular.*\); pass JSON-compatible data\.$/i,
    );
  });
});
