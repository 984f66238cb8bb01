/**
 * Text from outside (task names and ids, URLs, values from a producer in
 * another language) made safe for one log line. Without it a task name with
 * a newline forges a log line of its own, an ANSI escape repaints the
 * operator's terminal, and a 1 MB name makes a 2 MB line.
 */

/** Longest piece of outside text kept in one log line, in UTF-16 code units. */
export const MAX_LOGGED_TEXT = 200;

/**
 * C0 and C1 control characters (newlines, ESC of ANSI sequences, NUL), DEL,
 * the Unicode line and paragraph separators, bidirectional overrides (which
 * reorder what a terminal shows), and lone surrogates.
 */
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- control characters are what this matches
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  if (code >= 0xd800 && code <= 0xdfff) return '\uFFFD';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `value` as printable text of bounded length: control characters escaped
 * (`\n`, `\x1b`, `\u2028`), anything longer than `max` cut with a note of
 * how much was left out. Never throws, whatever `value` is.
 */
export function logText(value: unknown, max = MAX_LOGGED_TEXT): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : String(value);
  } catch {
    return '[unprintable]';
  }
  // Cut before escaping: the work stays bounded however long the input is.
  const cut = text.length > max ? text.slice(0, max) : text;
  const shown = cut.replace(UNPRINTABLE, escape);
  return text.length > max ? `${shown}…[+${text.length - max} chars]` : shown;
}

/** Up to `maxItems` values through `logText()`, quoted and comma-separated, with a count of the rest. */
export function logList(values: readonly unknown[], maxItems = 20, max = MAX_LOGGED_TEXT): string {
  const shown = values.slice(0, maxItems).map((value) => `"${logText(value, max)}"`);
  if (values.length > maxItems) shown.push(`and ${values.length - maxItems} more`);
  return shown.join(', ');
}
