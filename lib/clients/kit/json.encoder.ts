/**
 * JSON text for what the clients store: payloads and results as written
 * (strict), and errors (lossy and bounded). Neither function throws.
 *
 * Why errors must never fail to encode: an outcome batch that cannot be
 * written is retried by the worker loop until it can, and every later
 * outcome of the process waits behind it. One handler error with a cycle, a
 * BigInt or a getter that throws would wedge the process for good.
 */

/**
 * Upper bound of one stored error: UTF-8 bytes of its JSON text. Each
 * attempt's error is kept (a PostgreSQL row's `errors`, a Redis record's
 * `err:<n>` fields and dead-letter entry), so the bound keeps a task that
 * fails with megabyte-sized errors from growing its row or record without end.
 */
export const MAX_STORED_ERROR_BYTES = 64 * 1024;

/** Longest single string kept in a stored error (a message, a stack), in UTF-16 code units. */
const MAX_STRING = 16 * 1024;
/** Nesting kept in a stored error; deeper values become a marker. */
const MAX_DEPTH = 12;
/** Fields per object and items per array kept in a stored error. */
const MAX_ENTRIES = 200;

/**
 * `\u0000` and lone surrogates: JSON.stringify writes them as escapes that
 * jsonb refuses, failing the whole outcome batch. They become U+FFFD in
 * stored errors. Redis would take them, but one encoding for every client
 * keeps what `get()` shows the same everywhere.
 */
// eslint-disable-next-line no-control-regex -- NUL is one of the characters this matches on purpose
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export type JsonText = { ok: true; text: string | undefined } | { ok: false; problem: string };

/**
 * `JSON.stringify(value)` as it is (`undefined` for `undefined`), or why it
 * cannot be: a BigInt, a cycle, a getter or `toJSON` that throws, a value
 * too large for one string. For payloads and results, which must come back
 * exactly as given or not be stored at all.
 */
export function encodeJson(value: unknown): JsonText {
  try {
    return { ok: true, text: value === undefined ? undefined : JSON.stringify(value) };
  } catch (error) {
    return { ok: false, problem: describeThrown(error) };
  }
}

/**
 * A serialized task error as JSON text that PostgreSQL `jsonb` and Redis
 * both take, at most `maxBytes` UTF-8 bytes. Lossy where it must be: cycles
 * become `"[Circular]"`, BigInts decimal strings, unreadable fields (throwing
 * getters, revoked proxies) a marker naming the failure, long strings are
 * cut with a note of how much was left out, and past the size bound whole
 * fields give way, `name` and `message` last.
 */
export function errorJson(error: unknown, maxBytes = MAX_STORED_ERROR_BYTES): string {
  const fields = errorFields(error);
  for (const share of [1, 1 / 4, 1 / 16]) {
    const text = stringify(new Walker(Math.floor(maxBytes * share)).walk(fields, '', 0));
    if (text !== undefined && Buffer.byteLength(text) <= maxBytes) return text;
  }
  // Escapes (6 bytes per control character) can still overflow a small bound: name and message only.
  const name = clip(readText(fields, 'name') ?? 'Error', 200);
  for (let room = 2000; ; room = Math.floor(room / 2)) {
    const text = JSON.stringify({ name, message: clip(readText(fields, 'message') ?? '', room) });
    if (Buffer.byteLength(text) <= maxBytes || room === 0) return text;
  }
}

/** The message of anything thrown, as one line of bounded size, without trusting the value. */
export function describeThrown(error: unknown, max = 300): string {
  try {
    const text = error instanceof Error ? String(error.message) : String(error);
    return clip(text.replace(/\s*\n\s*/g, ' '), max);
  } catch {
    return 'an unprintable value was thrown';
  }
}

/** The fields of a SerializedTaskError, in its order: the large ones (props, cause) come last and give way first. */
function errorFields(error: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  if (error === null || typeof error !== 'object') {
    out.name = 'Error';
    out.message = describeThrown(error, MAX_STRING);
    return out;
  }
  for (const key of ['name', 'message', 'stack', 'code', 'retryable', 'props', 'cause']) {
    const read = readField(error, key);
    if (read.ok && read.value !== undefined) out[key] = read.value;
    else if (!read.ok) out[key] = read.marker;
  }
  if (typeof out.name !== 'string') out.name = 'Error';
  if (typeof out.message !== 'string') out.message = out.message === undefined ? '' : describeThrown(out.message);
  return out;
}

type Read = { ok: true; value: unknown } | { ok: false; marker: string };

function readField(target: object, key: string): Read {
  try {
    return { ok: true, value: (target as Record<string, unknown>)[key] };
  } catch (error) {
    return { ok: false, marker: `[unreadable: ${describeThrown(error, 200)}]` };
  }
}

function readText(fields: Record<string, unknown>, key: string): string | undefined {
  return typeof fields[key] === 'string' ? (fields[key] as string) : undefined;
}

function clip(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max)}…[+${text.length - max} chars]` : text;
  return cut.replace(UNSTORABLE, '\uFFFD');
}

function stringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return undefined;
  }
}

/**
 * Copies a value into plain JSON data (null-prototype objects, arrays,
 * strings, numbers, booleans), spending a budget of characters on the way:
 * every node costs at least one, so the walk is bounded however large or
 * self-generating (a Proxy that invents a new object per read) the input is.
 */
class Walker {
  private readonly path = new Set<object>();

  constructor(private left: number) {}

  walk(value: unknown, key: string, depth: number): unknown {
    switch (typeof value) {
      case 'string':
        return this.text(value);
      case 'number':
        this.left -= 8;
        return Number.isFinite(value) ? value : null;
      case 'boolean':
        this.left -= 5;
        return value;
      case 'bigint':
        return this.text(value.toString());
      case 'object':
        if (value !== null) return this.object(value, key, depth);
        this.left -= 4;
        return null;
      default:
        // undefined, functions, symbols: left out, as JSON.stringify does.
        return undefined;
    }
  }

  private text(value: string): string {
    const room = Math.max(0, Math.min(MAX_STRING, this.left));
    const out = clip(value, room);
    this.left -= out.length + 2;
    return out;
  }

  private object(value: object, key: string, depth: number): unknown {
    let target: unknown = value;
    try {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') target = toJSON.call(value, key);
    } catch (error) {
      return this.text(`[toJSON failed: ${describeThrown(error, 200)}]`);
    }
    if (target === null || typeof target !== 'object') return this.walk(target, key, depth + 1);
    if (this.path.has(target)) return this.text('[Circular]');
    if (depth >= MAX_DEPTH) return this.text('[Too deep]');
    this.path.add(target);
    try {
      return this.container(target, depth);
    } catch (error) {
      // A revoked Proxy, or one whose traps throw: Array.isArray and Object.keys fail on it.
      return this.text(`[unreadable: ${describeThrown(error, 200)}]`);
    } finally {
      this.path.delete(target);
    }
  }

  private container(target: object, depth: number): unknown {
    if (ArrayBuffer.isView(target) || target instanceof ArrayBuffer) {
      return this.text(`[${target.constructor?.name ?? 'binary'} of ${target.byteLength} bytes]`);
    }
    if (target instanceof Map || target instanceof Set)
      return this.text(`[${target.constructor.name}(${target.size})]`);
    this.left -= 2;
    if (Array.isArray(target)) {
      const out: unknown[] = [];
      const length = Math.min(target.length, MAX_ENTRIES);
      for (let i = 0; i < length && this.left > 0; i++) {
        const read = readField(target, String(i));
        const item = read.ok ? this.walk(read.value, String(i), depth + 1) : this.text(read.marker);
        out.push(item === undefined ? null : item);
        this.left -= 1;
      }
      if (out.length < target.length) out.push(this.text(`[+${target.length - out.length} more items]`));
      return out;
    }
    const out: Record<string, unknown> = Object.create(null);
    if (target instanceof Error) {
      // name and message live on the prototype or are not enumerable: keep them anyway.
      for (const field of ['name', 'message']) {
        const read = readField(target, field);
        if (read.ok && typeof read.value === 'string') out[field] = this.text(read.value);
      }
    }
    const keys = Object.keys(target);
    let kept = 0;
    for (const key of keys) {
      if (kept >= MAX_ENTRIES || this.left <= 0) break;
      kept++;
      const read = readField(target, key);
      const item = read.ok ? this.walk(read.value, key, depth + 1) : this.text(read.marker);
      if (item === undefined) continue;
      const name = clip(key, 200);
      out[name] = item;
      this.left -= name.length + 4;
    }
    if (kept < keys.length) out['…'] = this.text(`[+${keys.length - kept} more fields]`);
    return out;
  }
}
