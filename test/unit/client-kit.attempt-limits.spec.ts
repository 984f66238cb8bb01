import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttemptLimits } from '../../lib/clients/kit/attempt-limits.registry.js';

describe('AttemptLimits: the one owner of a task’s attempt limit outside the loop', () => {
  it('uses the registered @Task limit, and the fallback only for names it does not know', () => {
    const limits = new AttemptLimits(3);
    assert.equal(limits.of('fragile'), 3);
    limits.register('C', [
      { name: 'fragile', maxAttempts: 1 },
      { name: 'sturdy', maxAttempts: 10 },
    ]);
    assert.equal(limits.of('fragile'), 1);
    assert.equal(limits.of('sturdy'), 10);
    assert.equal(limits.of('someone-elses'), 3);
    assert.deepEqual(limits.columns(), { names: ['fragile', 'sturdy'], limits: [1, 10] });
    limits.register('C', []);
    assert.equal(limits.of('fragile'), 3, 'a new registration replaces the old one');
  });

  it('refuses limits a statement or a script could not take', () => {
    const limits = new AttemptLimits(3);
    assert.throws(() => limits.register('C', [{ name: '', maxAttempts: 1 }]), /non-empty string name/);
    assert.throws(() => limits.register('C', [{ name: 'x', maxAttempts: 0 }]), /task "x" has maxAttempts 0/);
    assert.throws(() => limits.register('C', [{ name: 'x', maxAttempts: 2 ** 31 }]), /from 1 to 2147483647/);
    assert.throws(() => limits.register('C', 'x' as never), /expected an array/);
  });
});
