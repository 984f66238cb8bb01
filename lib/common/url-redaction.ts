import { logText } from './log-text.js';

/**
 * Query parameters that carry a secret in connection URLs (libpq's
 * `password`, tokens of managed services).
 */
const SECRET_PARAMS =
  /([?&;](?:password|passwd|pass|pwd|secret|token|access_token|auth|api_key|apikey|sslpassword)=)[^&;#\s]*/gi;

/**
 * A connection string as it may be shown in an error or a log: the password
 * of the user-info part and secret query parameters replaced by `***`, and
 * the whole bounded and made printable (see logText()). For the case where
 * the text is *not* a valid URL — a wrong scheme, a typo — so it cannot be
 * parsed, and is redacted by shape: everything between the first `:` of the
 * user-info and the last `@` is taken for the password (over-redacting a
 * malformed URL is fine; leaking a password into a log is not).
 */
export function redactUrl(text: string, max = 120): string {
  let out = String(text);
  const at = out.lastIndexOf('@');
  if (at >= 0) {
    const schemeEnd = out.indexOf('://');
    const start = schemeEnd >= 0 && schemeEnd < at ? schemeEnd + 3 : 0;
    const colon = out.indexOf(':', start);
    if (colon >= 0 && colon < at) out = `${out.slice(0, colon + 1)}***${out.slice(at)}`;
  }
  return logText(out.replace(SECRET_PARAMS, '$1***'), max);
}
