/** Progress goes to stderr, so that stdout holds only the report (and can be redirected to a file). */
export function log(message) {
  process.stderr.write(`${message}\n`);
}
