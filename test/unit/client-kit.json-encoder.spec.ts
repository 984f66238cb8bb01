import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeError } from '../../lib/boundary/error.serializer.js';
import { encodeJson, errorJson, MAX_STORED_ERROR_BYTES } from '../../lib/clients/kit/json.encoder.js';

/** What jsonb refuses: \u0000 and lone surrogates, raw or escaped. */
const UNSTORABLE =
  // eslint-disable-next-line no-control-regex -- NUL is one of the characters this matches on purpose
  /\u0000|\\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i;

function deep(levels: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let node = root;
  for (let i = 0; i < levels; i++) node = node.next = {};
  return root;
}

/** Values a handler's error can carry in its own properties, each one hostile in its own way. */
function hostileProps(): Array<[string, unknown]> {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const many: Record<string, number> = {};
  for (let i = 0; i < 20_000; i++) many[`field${i}`] = i;
  return [
    ['a cycle', cyclic],
    ['a BigInt', 2n ** 70n],
    ['a 5 MB string', 'x'.repeat(5_000_000)],
    ['20,000 fields', many],
    ['a 1,000,000-item array', new Array(1_000_000).fill('item')],
    [
      'a getter that throws',
      Object.defineProperty({}, 'bad', {
        enumerable: true,
        get: () => {
          throw new Error('no');
        },
      }),
    ],
    [
      'toJSON that throws',
      {
        toJSON: () => {
          throw new Error('nope');
        },
      },
    ],
    ['lone surrogates and NUL', 'a\uD800b\uDFFFc\u0000d'],
    ['a NUL in a key', { 'k\u0000ey': 1 }],
    ['a revoked Proxy', revoked.proxy],
    [
      'a Proxy whose traps throw',
      new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('trap');
          },
        },
      ),
    ],
    [
      'a Proxy inventing a new object on every read',
      new Proxy(
        {},
        {
          ownKeys: () => ['x', 'y'],
          getOwnPropertyDescriptor: () => ({ enumerable: true, configurable: true }),
          get: () =>
            new Proxy(
              {},
              {
                ownKeys: () => ['x', 'y'],
                getOwnPropertyDescriptor: () => ({ enumerable: true, configurable: true }),
                get: () => ({ again: 1 }),
              },
            ),
        },
      ),
    ],
    ['100,000 levels of nesting', deep(100_000)],
    ['a 64 MB typed array', new Uint8Array(64 * 1024 * 1024)],
    [
      'a thrown object whose message getter throws',
      {
        get message() {
          throw new Error('boom');
        },
      },
    ],
    ['control characters only', '\u0001'.repeat(200_000)],
  ];
}

describe('errorJson: the one encoder of stored errors', () => {
  for (const [what, value] of hostileProps()) {
    it(`survives ${what}: valid JSON that jsonb accepts, within the bound`, () => {
      for (const maxBytes of [MAX_STORED_ERROR_BYTES, 1024]) {
        const text = errorJson({ name: 'HostileError', message: 'boom', props: { value } }, maxBytes);
        assert.ok(Buffer.byteLength(text) <= maxBytes, `${Buffer.byteLength(text)} bytes > ${maxBytes}`);
        assert.doesNotMatch(text, UNSTORABLE);
        const parsed = JSON.parse(text);
        assert.equal(parsed.name, 'HostileError');
        assert.equal(parsed.message, 'boom');
      }
    });
  }

  it('keeps an ordinary error exactly as JSON.stringify would', () => {
    const error = serializeError(
      Object.assign(new TypeError('bad input'), { code: 'E_BAD', field: 'email', tries: [1, 2] }),
    );
    assert.equal(errorJson(error), JSON.stringify(error));
  });

  it('marks a self-referencing own property of a handler error as circular (the Redis publish wedge)', () => {
    const thrown = new Error('card declined') as Error & { self?: unknown; order?: unknown };
    thrown.self = thrown;
    thrown.order = { id: 7, error: thrown };
    const serialized = serializeError(thrown);
    assert.throws(() => JSON.stringify(serialized), /circular/i, 'the serialized error does hold a cycle');
    const parsed = JSON.parse(errorJson(serialized));
    assert.equal(parsed.message, 'card declined');
    assert.deepEqual(parsed.props.self.self, '[Circular]');
    assert.equal(parsed.props.order.id, 7);
  });

  it('says what it cut: long strings keep their head, the count of what was left out, and name and message survive', () => {
    const parsed = JSON.parse(errorJson({ name: 'Big', message: 'm'.repeat(100_000), stack: 's'.repeat(100_000) }));
    assert.equal(parsed.name, 'Big');
    assert.match(parsed.message, /^m+…\[\+\d+ chars\]$/);
    const fields: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) fields[`f${i}`] = i;
    const wide = JSON.parse(errorJson({ name: 'Wide', message: '', props: fields }));
    assert.match(wide.props['…'], /^\[\+\d+ more fields\]$/);
    assert.equal(wide.props.f0, 0);
  });

  it('stores anything thrown, not only errors', () => {
    for (const thrown of [undefined, null, 'text', 42, Symbol('s'), () => 1]) {
      const parsed = JSON.parse(errorJson(thrown));
      assert.equal(typeof parsed.name, 'string');
      assert.equal(typeof parsed.message, 'string');
    }
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    assert.match(JSON.parse(errorJson(revoked.proxy)).message, /unreadable|revoked/);
  });
});

describe('encodeJson: payloads and results, exactly or not at all', () => {
  it('gives JSON.stringify text, undefined for undefined', () => {
    assert.deepEqual(encodeJson({ a: [1, 'é\u0000'] }), { ok: true, text: JSON.stringify({ a: [1, 'é\u0000'] }) });
    assert.deepEqual(encodeJson(undefined), { ok: true, text: undefined });
  });

  it('says why a value cannot be written, and never throws', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const [value, problem] of [
      [10n, /BigInt/],
      [cyclic, /circular/i],
      [
        {
          toJSON: () => {
            throw new Error('custom toJSON');
          },
        },
        /custom toJSON/,
      ],
      [
        Object.defineProperty({}, 'x', {
          enumerable: true,
          get: () => {
            throw 'a string';
          },
        }),
        /a string/,
      ],
    ] as const) {
      const encoded = encodeJson(value);
      assert.equal(encoded.ok, false);
      assert.match((encoded as { problem: string }).problem, problem);
    }
  });
});
