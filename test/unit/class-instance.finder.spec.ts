/** Which values lose their class crossing a thread, found with one prototype lookup (top level) or a bounded walk (nested). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findNestedLostClass, lostClassOf } from '../../lib/boundary/class-instance.finder.js';

class Vector {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}
class Registry extends Map<string, number> {}

describe('lostClassOf()', () => {
  it('names a class instance, a Buffer and a subclass of a built-in', () => {
    assert.equal(lostClassOf(new Vector(1, 2)), 'Vector');
    assert.equal(lostClassOf(Buffer.from('ab')), 'Buffer');
    assert.equal(lostClassOf(new Registry()), 'Registry');
    assert.equal(lostClassOf(new (class {})()), 'an anonymous class');
  });

  it('leaves alone what crosses as itself, and what cannot cross at all', () => {
    for (const [index, value] of [
      1,
      'text',
      null,
      undefined,
      { a: 1 },
      Object.create(null),
      [1, 2],
      new Date(0),
      /x/,
      new Map(),
      new Set(),
      new Uint8Array(2),
      new Float64Array(2),
      new ArrayBuffer(2),
      new Error('e'),
      new TypeError('t'),
      Promise.resolve(),
      new WeakMap(),
    ].entries()) {
      assert.equal(lostClassOf(value), undefined, `value ${index}`);
    }
  });

  it('agrees with structuredClone: what it names arrives without its class', () => {
    for (const value of [new Vector(1, 2), Buffer.from('ab'), new Registry()]) {
      const copy = structuredClone(value) as object;
      assert.notEqual(Object.getPrototypeOf(copy), Object.getPrototypeOf(value), lostClassOf(value));
    }
  });
});

describe('findNestedLostClass()', () => {
  it('finds the first instance below the top level, with its path', () => {
    assert.deepEqual(findNestedLostClass({ a: { b: [1, new Vector(1, 2)] } }, 'payload'), {
      path: 'payload.a.b[1]',
      className: 'Vector',
    });
    assert.deepEqual(findNestedLostClass(new Map([['k', new Vector(0, 0)]]), 'items[3]'), {
      path: 'items[3].get(<key 0>)',
      className: 'Vector',
    });
  });

  it('does not report the top level itself (the dispatcher does), nor plain data', () => {
    assert.equal(findNestedLostClass(new Vector(1, 2), 'payload'), undefined);
    assert.equal(findNestedLostClass({ a: [1, { b: new Date(0) }], t: new Uint8Array(3) }, 'payload'), undefined);
  });

  it('ends on cycles', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    assert.equal(findNestedLostClass(a, 'payload'), undefined);
  });
});
