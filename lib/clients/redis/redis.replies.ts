/**
 * Reply shapes that differ between ioredis majors and protocols. ioredis 5
 * speaks RESP2; ioredis 6 speaks RESP3 by default, where the server answers
 * some commands with maps: with `replyMapping: 'legacy'` (its default) a map
 * comes back as a flat `[key, value, ...]` array when the command is sent
 * through `call()`, and as a plain object with `replyMapping: 'resp3'`. A
 * `connection` the app passes (and the blocking connection duplicated from
 * it) may be set up either way, so the client reads every shape rather than
 * pinning one protocol on connections it does not own.
 */

/** One stream's part of an XREAD/XREADGROUP reply: its key and its entries as [id, flat fields]. */
export type StreamReply = readonly [
  key: string,
  entries: ReadonlyArray<readonly [id: string, fields: readonly string[]]>,
];

const isPair = (item: unknown): item is readonly [unknown, unknown] =>
  Array.isArray(item) &&
  item.length === 2 &&
  typeof item[0] === 'string' &&
  (item[1] === null || Array.isArray(item[1]));

/**
 * The streams of an XREADGROUP reply, whatever its shape: `null` (nothing
 * read), `[[key, entries], ...]` (RESP2), `[key, entries, key, entries]`
 * (a RESP3 map through `call()`), `{ key: entries }` or a `Map` (RESP3 maps
 * mapped as such).
 */
export function streamsOf(reply: unknown): StreamReply[] {
  if (reply === null || reply === undefined) return [];
  let pairs: Array<readonly [unknown, unknown]>;
  if (reply instanceof Map) pairs = [...reply.entries()];
  else if (Array.isArray(reply)) {
    if (reply.every(isPair)) pairs = reply;
    else {
      pairs = [];
      for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([reply[i], reply[i + 1]]);
    }
  } else if (typeof reply === 'object') pairs = Object.entries(reply);
  else throw new TypeError(`Unexpected XREADGROUP reply: ${typeof reply}`);
  return pairs.map(([key, entries]) => [String(key), (Array.isArray(entries) ? entries : []).map(entryOf)]);
}

/** An entry as [id, flat fields]; fields mapped as an object (RESP3) are flattened, a deleted entry has none. */
function entryOf(entry: unknown): readonly [string, readonly string[]] {
  const [id, fields] = entry as [unknown, unknown];
  if (Array.isArray(fields)) return [String(id), fields as string[]];
  if (fields && typeof fields === 'object') return [String(id), Object.entries(fields).flat() as string[]];
  return [String(id), []];
}
