import { isMainThread } from 'node:worker_threads';

/** Long enough for a full collection of a booted thread (25-60 ms measured); a cap, not a wait. */
const TRIM_TIMEOUT_MS = 1000;

/**
 * Gives back what booting a Nest context left in a worker thread's heap:
 * one memory-reducing garbage collection, as DevTools' "Collect garbage"
 * button asks for (the inspector's `HeapProfiler.collectGarbage`; Node has no
 * other API for it).
 *
 * Why: booting allocates the module graph of @nestjs/core, @nestjs/common and
 * rxjs (~600 ES modules) and the context, and most of it survives, so V8
 * grows the thread's young generation to 8-16 MB semi-spaces during boot. A
 * busy thread never shrinks it again (V8 does that in a memory-reducing GC,
 * which an idle thread gets after ~10 s). Measured on Node 20: a scavenge of
 * such a young generation took 16-27 ms instead of 2-4 ms, and tasks that
 * churn objects owning native memory (crypto hashes, zlib, Buffers) ran 1.2-
 * 1.5x slower than in a bare thread; each thread also kept ~10 MB more RSS.
 * After this collection the young generation is back at its initial size
 * and V8 grows it again only for tasks whose objects survive, as in a bare
 * thread. Capping it instead (`resourceLimits.maxYoungGenerationSizeMb`)
 * made tasks that build large results ~2x slower.
 *
 * Best effort: without an inspector (a Node built without one, the
 * permission model) the thread keeps its heap as it is.
 */
export async function trimBootHeap(): Promise<void> {
  if (isMainThread) return;
  let session: import('node:inspector').Session | undefined;
  try {
    const { Session } = await import('node:inspector');
    session = new Session();
    session.connect();
    const connected = session;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => connected.post('HeapProfiler.collectGarbage', () => resolve())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, TRIM_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  } catch {
    // No inspector here: nothing to trim with.
  } finally {
    // Disconnecting inside the post() callback would hang the thread; here it runs after it.
    session?.disconnect();
  }
}
