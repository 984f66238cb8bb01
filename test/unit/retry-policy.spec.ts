import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryPolicy } from '../../lib/loop/retry.policy.js';

const backoff = { initialMs: 100, factor: 2, maxMs: 1000, jitter: 'none' as const };
const error = { name: 'Error', message: 'x' };

describe('RetryPolicy', () => {
  it('backs off exponentially up to the cap', () => {
    const policy = new RetryPolicy([]);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((a) => policy.delay(a, backoff)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  it('jitters within [0, computed] (full) and [computed/2, computed] (equal)', () => {
    assert.equal(new RetryPolicy([], () => 0).delay(3, { ...backoff, jitter: 'full' }), 0);
    assert.equal(new RetryPolicy([], () => 0.999999).delay(3, { ...backoff, jitter: 'full' }), 400);
    assert.equal(new RetryPolicy([], () => 0).delay(3, { ...backoff, jitter: 'equal' }), 200);
  });

  it('retries until the last attempt, then fails for good', () => {
    const policy = new RetryPolicy([]);
    assert.equal(policy.decide('error', error, 1, 3, backoff).retry, true);
    assert.equal(policy.decide('timeout', error, 2, 3, backoff).retry, true);
    assert.equal(policy.decide('crash', error, 3, 3, backoff).retry, false);
  });

  it('never retries bad input, non-retryable errors, or listed names and codes', () => {
    const policy = new RetryPolicy(['ValidationError', 'E_GONE']);
    for (const reason of ['unknown-task', 'invalid-payload', 'invalid-result'] as const) {
      assert.equal(policy.decide(reason, error, 1, 5, backoff).retry, false, reason);
    }
    assert.equal(policy.decide('error', { ...error, retryable: false }, 1, 5, backoff).retry, false);
    assert.equal(policy.decide('error', { name: 'ValidationError', message: '' }, 1, 5, backoff).retry, false);
    assert.equal(policy.decide('error', { ...error, code: 'E_GONE' }, 1, 5, backoff).retry, false);
  });
});
