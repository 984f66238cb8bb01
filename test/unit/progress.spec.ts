import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonProblem } from '../../lib/boundary/json-value.checker.js';
import { ProgressThrottle } from '../../lib/thread/progress.throttle.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('ProgressThrottle: at most one message per interval, the latest value winning', () => {
  it('sends nothing within the first interval of the call; the latest value is kept for the reply', () => {
    const sent: unknown[] = [];
    const throttle = new ProgressThrottle((v) => sent.push(v), performance.now(), 10_000);
    for (let i = 1; i <= 1000; i++) throttle.push(i);
    throttle.stop();
    assert.deepEqual(sent, []);
    assert.equal(throttle.latest, 1000);
  });

  it('once the interval is up, the next report goes at once, and a timer sends the last one of a quiet spell', async () => {
    const sent: unknown[] = [];
    const throttle = new ProgressThrottle((v) => sent.push(v), performance.now() - 1000, 50);
    throttle.push('a');
    assert.deepEqual(sent, ['a'], 'the interval since the start had passed');
    throttle.push('b');
    throttle.push('c');
    assert.deepEqual(sent, ['a'], 'within the interval: held');
    await sleep(120);
    assert.deepEqual(sent, ['a', 'c'], 'the timer sent the latest, not every value');
    throttle.stop();
  });

  it('stop() drops what is held: the reply carries it', async () => {
    const sent: unknown[] = [];
    const throttle = new ProgressThrottle((v) => sent.push(v), performance.now(), 30);
    throttle.push(1);
    throttle.stop();
    await sleep(80);
    assert.deepEqual(sent, []);
    assert.equal(throttle.latest, 1);
  });

  it('a busy loop that never yields still sends every interval, by the clock', () => {
    const sent: unknown[] = [];
    const throttle = new ProgressThrottle((v) => sent.push(v), performance.now(), 20);
    const end = performance.now() + 110;
    let n = 0;
    while (performance.now() < end) throttle.push(++n);
    throttle.stop();
    assert.ok(sent.length >= 1 && sent.length <= 6, `${sent.length} messages`);
    assert.ok(sent.length < n / 100, `${sent.length} messages for ${n} reports`);
  });
});

describe('jsonProblem: what JSON cannot carry as it is', () => {
  it('accepts plain JSON data', () => {
    for (const value of [0, -1.5, 'text', true, null, [], {}, { a: [1, { b: 'c' }], d: null }, Object.create(null)]) {
      assert.equal(jsonProblem(value), undefined, JSON.stringify(value));
    }
  });

  it('names the first part that is not, with its path', () => {
    assert.equal(jsonProblem(undefined), 'undefined');
    assert.equal(jsonProblem(NaN), 'NaN');
    assert.equal(jsonProblem({ ratio: Infinity }), 'Infinity at .ratio');
    assert.equal(jsonProblem([1, { at: new Date(0) }]), 'a Date at [1].at');
    assert.equal(jsonProblem(new Map()), 'a Map');
    assert.equal(jsonProblem({ big: 1n }), 'a bigint at .big');
    assert.equal(jsonProblem({ f: () => 1 }), 'a function at .f');
    assert.equal(jsonProblem({ u: undefined }), 'undefined at .u');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.match(jsonProblem(cycle)!, /nested deeper than 64 levels/);
  });
});
