/**
 * XREADGROUP replies in every shape ioredis 5 and 6 give them (seen on a
 * real server: RESP2; RESP3 through call(), a flat array; RESP3 with
 * replyMapping "resp3", an object).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { streamsOf } from '../../lib/clients/redis/redis.replies.js';

const a = ['1-0', ['name', 'add', 'payload', '{}']] as const;
const b = ['2-0', ['name', 'echo', 'payload', '1']] as const;
const expected = [
  ['s', [a]],
  ['s:low', [b]],
];

describe('streamsOf (XREADGROUP replies)', () => {
  it('reads nothing from a null reply (the BLOCK timed out)', () => {
    assert.deepEqual(streamsOf(null), []);
  });

  it('reads RESP2 pairs, RESP3 flat arrays, objects and Maps alike', () => {
    assert.deepEqual(
      streamsOf([
        ['s', [a]],
        ['s:low', [b]],
      ]),
      expected,
    );
    assert.deepEqual(streamsOf(['s', [a], 's:low', [b]]), expected);
    assert.deepEqual(streamsOf({ s: [a], 's:low': [b] }), expected);
    assert.deepEqual(
      streamsOf(
        new Map<string, unknown>([
          ['s', [a]],
          ['s:low', [b]],
        ]),
      ),
      expected,
    );
  });

  it('reads a flat reply of one stream, and entry fields mapped as an object', () => {
    assert.deepEqual(streamsOf(['s', [a]]), [['s', [a]]]);
    assert.deepEqual(streamsOf({ s: [['1-0', { name: 'add', payload: '{}' }]] }), [['s', [a]]]);
  });

  it('gives a deleted entry no fields (it is then dead-lettered as invalid), and refuses a reply of no known shape', () => {
    assert.deepEqual(streamsOf([['s', [['1-0', null]]]]), [['s', [['1-0', []]]]]);
    assert.throws(() => streamsOf('OK'), /Unexpected XREADGROUP reply/);
  });
});
