import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Task, type TaskMetadata } from '../../lib/decorators/task.decorator.js';
import { InvalidTaskOptionsError } from '../../lib/errors/worker.errors.js';
import { TASK_METADATA } from '../../lib/worker.constants.js';

const schema = { '~standard': { version: 1 as const, vendor: 'test', validate: (value: unknown) => ({ value }) } };

describe('@Task() options are checked where the task is declared', () => {
  it('keeps valid options as declared', () => {
    const options = {
      timeoutMs: 1500,
      maxAttempts: 5,
      backoff: { initialMs: 10, jitter: 'equal' as const },
      batch: false,
      retryIf: () => true,
      schema,
    };
    class Tasks {
      @Task('charge', options)
      charge() {}
    }
    const metadata = Reflect.getMetadata(TASK_METADATA, Tasks.prototype.charge) as TaskMetadata;
    assert.deepEqual(metadata, { name: 'charge', options });
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['a negative timeout', { timeoutMs: -1 }, /option "timeoutMs" must be a number from 0 to 2147483647, got -1/],
    ['a timeout setTimeout cannot hold', { timeoutMs: 2 ** 31 }, /option "timeoutMs" must be a number from 0/],
    ['a string timeout', { timeoutMs: '5s' }, /option "timeoutMs" must be a number .*, got "5s"/],
    [
      'zero attempts',
      { maxAttempts: 0 },
      /option "maxAttempts" must be an integer >= 1, got 0\. .*first attempt included/,
    ],
    ['fractional attempts', { maxAttempts: 2.5 }, /option "maxAttempts" must be an integer >= 1, got 2\.5/],
    ['a backoff that is not an object', { backoff: 100 }, /option "backoff" must be an object, got 100/],
    ['a negative backoff delay', { backoff: { initialMs: -5 } }, /option "backoff\.initialMs" must be a number >= 0/],
    [
      'an unknown jitter',
      { backoff: { jitter: 'some' } },
      /option "backoff\.jitter" must be "full", "equal" or "none"/,
    ],
    ['a batch flag that is not boolean', { batch: 'yes' }, /option "batch" must be true or false, got "yes"/],
    ['a retryIf that is not a function', { retryIf: true }, /option "retryIf" must be a function, got true/],
    ['a schema without ~standard', { schema: { parse() {} } }, /option "schema" must be a Standard Schema/],
    ['options that are not an object', 42, /option "\(options\)" must be an object, got 42/],
  ];
  for (const [what, options, message] of bad) {
    it(`refuses ${what}, naming the task, the option and the fix`, () => {
      assert.throws(
        () => Task('charge', options as never),
        (error: unknown) =>
          error instanceof InvalidTaskOptionsError &&
          error.code === 'ERR_WORKER_INVALID_TASK_OPTIONS' &&
          error.taskName === 'charge' &&
          error.message.startsWith('@Task("charge") option "') &&
          message.test(error.message),
      );
    });
  }

  it('still refuses a missing name with a TypeError', () => {
    assert.throws(() => Task(''), /@Task\(\) needs a non-empty string name/);
  });
});
