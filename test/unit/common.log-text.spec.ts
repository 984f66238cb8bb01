import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logList, logText, MAX_LOGGED_TEXT } from '../../lib/common/log-text.js';
import { redactUrl } from '../../lib/common/url-redaction.js';
import { Messages } from '../../lib/errors/error-messages.js';

describe('logText', () => {
  it('escapes what could forge a line or repaint a terminal, and keeps the rest', () => {
    assert.equal(logText('report.daily'), 'report.daily');
    assert.equal(logText('a\nb\r\tc'), 'a\\nb\\r\\tc');
    assert.equal(logText('\u001b[31mred\u001b[0m'), '\\x1b[31mred\\x1b[0m');
    assert.equal(
      logText('nul\u0000 del\u007f c1\u0085 sep\u2028 bidi\u202e'),
      'nul\\x00 del\\x7f c1\\x85 sep\\u2028 bidi\\u202e',
    );
    assert.equal(logText('lone \uD800 pair \u{1F600}'), 'lone \uFFFD pair \u{1F600}');
    assert.equal(logText(42), '42');
    assert.equal(logText(Symbol('x')), 'Symbol(x)');
    const unprintable = {
      toString: () => {
        throw new Error('no');
      },
    };
    assert.equal(logText(unprintable), '[unprintable]');
  });

  it('bounds the length, saying how much was left out, with bounded work on huge input', () => {
    const huge = 'n'.repeat(10_000_000);
    const shown = logText(huge);
    assert.equal(shown, `${'n'.repeat(MAX_LOGGED_TEXT)}…[+${10_000_000 - MAX_LOGGED_TEXT} chars]`);
    assert.equal(logText('abcdef', 3), 'abc…[+3 chars]');
  });

  it('lists values quoted, each bounded, with a count of the rest', () => {
    assert.equal(logList(['a\nb', 'c'], 20), '"a\\nb", "c"');
    assert.equal(logList(['1', '2', '3'], 2), '"1", "2", and 1 more');
  });

  it('is what the messages use for task names and ids', () => {
    const name = `evil\n[ERROR] forged ${'x'.repeat(1_000_000)}`;
    for (const message of [
      Messages.unknownTask(name, ['known']),
      Messages.leaseExpired(name, 1, 1000),
      Messages.pgResultNotJson(name, name, 'BigInt'),
      Messages.redisResultNotJson(name, name, 'BigInt'),
      Messages.pgLeaseAttemptsExhausted(2, [name, name]),
    ]) {
      assert.ok(!message.includes('\n'), message.slice(0, 100));
      assert.ok(message.length < 2000, `${message.length}`);
    }
  });
});

describe('redactUrl', () => {
  it('hides the password of a URL that may not even parse', () => {
    assert.equal(redactUrl('postgres://u:secret@h:5432/db'), 'postgres://u:***@h:5432/db');
    assert.equal(redactUrl('redis://:secret@h:6379'), 'redis://:***@h:6379');
    assert.equal(redactUrl('mysql://u:se@cr:et@h/db'), 'mysql://u:***@h/db');
    assert.equal(redactUrl('postgres://h/db?sslpassword=secret&x=1'), 'postgres://h/db?sslpassword=***&x=1');
    assert.equal(redactUrl('postgres://u@h/db'), 'postgres://u@h/db');
    assert.equal(redactUrl('not a url at all'), 'not a url at all');
    assert.ok(!redactUrl('x://u:secret\n@h').includes('\n'));
  });
});
