import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findUncloneable } from '../../lib/boundary/cloneability.checker.js';

describe('findUncloneable', () => {
  it('accepts what structured clone accepts', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    for (const value of [
      1,
      'x',
      null,
      undefined,
      new Date(),
      new Map([[1, { a: [1n] }]]),
      new Set([1]),
      new Uint8Array(4),
      cyclic,
      [1, [2, [3]]],
      new Error('e'),
    ]) {
      assert.equal(findUncloneable(value, 'payload'), undefined, String(value));
    }
  });

  it('names the path and type of the first part it refuses', () => {
    assert.deepEqual(findUncloneable({ user: { save() {} } }, 'payload'), {
      path: 'payload.user.save',
      type: 'a function (save)',
    });
    assert.match(findUncloneable([1, Symbol('s')], 'result')!.path, /^result\[1\]$/);
    assert.match(findUncloneable(new Map([['k', () => 1]]), 'payload')!.type, /function/);
    assert.ok(findUncloneable(new WeakMap(), 'payload'));
    assert.ok(findUncloneable(Promise.resolve(1), 'payload'));
  });
});
