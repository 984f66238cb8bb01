import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deserializeError, serializeError } from '../../lib/boundary/error.serializer.js';
import { TaskTimeoutError, WorkerError } from '../../lib/errors/worker.errors.js';

class DeclinedError extends Error {
  constructor(
    message: string,
    readonly declineCode: string,
  ) {
    super(message);
    this.name = 'DeclinedError';
  }
}

describe('serializeError / deserializeError', () => {
  it('keeps name, message, stack, code and own properties', () => {
    const original = Object.assign(new DeclinedError('card declined', 'insufficient_funds'), { code: 'E_DECLINED' });
    const copy = deserializeError(structuredClone(serializeError(original)));
    assert.equal(copy.name, 'DeclinedError');
    assert.equal(copy.message, 'card declined');
    assert.equal(copy.stack, original.stack);
    assert.equal((copy as unknown as { code: string }).code, 'E_DECLINED');
    assert.equal((copy as unknown as { declineCode: string }).declineCode, 'insufficient_funds');
  });

  it('keeps the cause chain and AggregateError members', () => {
    const inner = new TypeError('bad input');
    const outer = new AggregateError([inner, new RangeError('too big')], 'several', { cause: inner });
    const copy = deserializeError(structuredClone(serializeError(outer))) as AggregateError;
    assert.ok(copy instanceof AggregateError);
    assert.equal(copy.errors.length, 2);
    assert.ok(copy.errors[0] instanceof TypeError);
    assert.ok(copy.cause instanceof TypeError);
    assert.equal((copy.cause as Error).message, 'bad input');
  });

  it('rebuilds our own classes so instanceof works', () => {
    const copy = deserializeError(serializeError(new TaskTimeoutError('resize', 250)));
    assert.ok(copy instanceof TaskTimeoutError);
    assert.ok(copy instanceof WorkerError);
    assert.equal((copy as WorkerError).code, 'ERR_WORKER_TASK_TIMEOUT');
    assert.match(copy.message, /resize/);
  });

  it('describes uncloneable own properties instead of failing', () => {
    const error = Object.assign(new Error('x'), { retry: () => 1, socket: new (class Socket {})() });
    const data = serializeError(error);
    assert.doesNotThrow(() => structuredClone(data));
    assert.match(String(data.props?.retry), /not cloneable: function retry/);
  });

  it('turns thrown non-errors into errors that say what was thrown', () => {
    assert.equal(serializeError('plain string').message, 'plain string');
    assert.match(serializeError(42).message, /non-error value was thrown: 42/);
    assert.equal(serializeError(undefined).name, 'Error');
  });
});
