/** After an abort, how long a command still in flight may answer before fetch gives up on it. */
const ABANDON_AFTER_MS = 500;

export const noop = () => undefined;

/**
 * Awaits `work`, unless `signal` aborts and `work` is still pending
 * ABANDON_AFTER_MS later: then resolves undefined and `work` goes on alone
 * (the caller hands it to whoever must release what it delivers). `fetch()`
 * must return soon after an abort even while Redis is unreachable.
 */
export async function untilAbandoned<T>(
  work: Promise<T>,
  signal: AbortSignal,
  onAbort?: () => void,
): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let abort = noop;
  const abandoned = new Promise<undefined>((resolve) => {
    abort = () => {
      onAbort?.();
      timer = setTimeout(resolve, ABANDON_AFTER_MS, undefined);
    };
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  });
  const settled = work.then((value) => ({ value }));
  settled.catch(noop); // if abandoned, whoever took `work` over handles its failure
  try {
    return await Promise.race([settled, abandoned]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}
