/**
 * The conformance suite's own waits: a fetch slice must end on time even
 * when the heap is collected meanwhile. With AbortSignal.any() over an
 * AbortSignal.timeout(), a collection during the slice could take the
 * timeout signal (Node 20 and 22, nodejs/node#57736): a long-polling client
 * never saw its signal abort, and the case hung until its own 30 s timeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TaskEnvelope } from '../../lib/interfaces/task-client.interface.js';
import { ConformanceContext, sliceSignal } from '../../lib/testing/conformance/conformance.context.js';
import type {
  ConformanceClient,
  ConformanceQueue,
} from '../../lib/testing/conformance/conformance-options.interface.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A client that long-polls as the Redis one does: fetch() returns only when its signal aborts. Collects the heap while it waits. */
function longPolling(): ConformanceClient & { fetches: number } {
  const client = {
    fetches: 0,
    fetch: (_max: number, signal: AbortSignal) =>
      new Promise<readonly TaskEnvelope[]>((resolve) => {
        client.fetches++;
        if (signal.aborted) return resolve([]);
        signal.addEventListener('abort', () => resolve([]), { once: true });
        setTimeout(gc, 30);
        setTimeout(gc, 120);
      }),
    publish: async () => undefined,
  };
  return client as unknown as ConformanceClient & { fetches: number };
}

const features = {
  consumers: false,
  leases: false,
  startMarks: false,
  watch: false,
  permits: false,
  schedules: false,
  cancel: false,
  progress: false,
  uniqueKeys: false,
  retryDeadLetter: false,
};

/** Fails if `work` is still pending after `ms` (instead of waiting as long as it hangs). */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('ConformanceContext waits (fetch slices)', () => {
  it('nothing() and take() end on time with a long-polling client while the heap is collected', async () => {
    const client = longPolling();
    const outer = new AbortController();
    const ctx = new ConformanceContext({ client, close: () => undefined } as ConformanceQueue, features, outer.signal);
    try {
      const started = Date.now();
      await within(ctx.nothing(client, 600), 5000, 'nothing(600)');
      assert.ok(Date.now() - started < 3000, `nothing(600) took ${Date.now() - started} ms`);
      assert.ok(client.fetches >= 2, 'a fetch per slice of at most 250 ms');
      await assert.rejects(within(ctx.take(client, 1, { timeoutMs: 400 }), 5000, 'take()'), /expected 1 task/);
    } finally {
      outer.abort();
    }
  });

  it('sliceSignal() aborts after its time, collections or not, and with the outer signal', async () => {
    const outer = new AbortController();
    for (let i = 0; i < 5; i++) {
      const slice = sliceSignal(outer.signal, 100);
      const aborted = new Promise<unknown>((resolve) =>
        slice.signal.addEventListener('abort', () => resolve(slice.signal.reason), { once: true }),
      );
      setTimeout(gc, 20);
      const reason = await within(aborted, 3000, `slice ${i}`);
      assert.equal((reason as DOMException).name, 'TimeoutError');
      slice.done();
    }
    const slice = sliceSignal(outer.signal, 60_000);
    outer.abort(new Error('case over'));
    assert.equal(slice.signal.aborted, true);
    assert.equal((slice.signal.reason as Error).message, 'case over');
    slice.done();
    const already = sliceSignal(outer.signal, 60_000);
    assert.equal(already.signal.aborted, true, 'an outer signal that already aborted');
    already.done();
  });
});
