/** What piscina's rejection says about why a thread died, in words for a message. */
export function describeCrash(error: unknown): string {
  const err = error as { code?: string; message?: string; name?: string } | undefined;
  if (err?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return 'out of memory: the thread passed its resourceLimits';
  }
  const exit = /worker exited with code: (-?\d+)/.exec(err?.message ?? '');
  if (exit) return `the thread exited with code ${exit[1]} (process.exit() or a fatal error)`;
  if (/Terminating worker thread/.test(err?.message ?? '')) return 'the thread was stopped';
  return `an uncaught ${err?.name ?? 'error'} in the thread: ${err?.message ?? String(error)}`;
}

export function isDataCloneError(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'DataCloneError';
}
