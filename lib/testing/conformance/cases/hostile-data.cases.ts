import assert from 'node:assert/strict';
import type { SerializedTaskError } from '../../../interfaces/serialized-error.interface.js';
import type { ConformanceGroup } from '../conformance-case.interface.js';
import type { ConformanceClient } from '../conformance-options.interface.js';
import { completed, failed, retry } from '../conformance.context.js';

/** Text that trips naive encoders: NUL, lone surrogates, line separators, an escape sequence, astral characters. */
const AWKWARD = 'nul\u0000 lone \uD800 \uDC00 sep\u2028 esc\u001b[31m emoji \u{1F600} quote" back\\';

function thousandsOfFields(count: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < count; i++) out[`field_${i}`] = i;
  return out;
}

/**
 * An error the way a handler may throw it: a cycle, a BigInt, a getter that
 * throws, thousands of fields, a megabyte of message with awkward text.
 */
function hostileError(): SerializedTaskError {
  const props: Record<string, unknown> = { big: 10n ** 30n, fields: thousandsOfFields(5000) };
  props.self = props;
  Object.defineProperty(props, 'trap', {
    enumerable: true,
    get() {
      throw new Error('a getter that throws');
    },
  });
  const error: SerializedTaskError = {
    name: 'HostileError',
    message: `${AWKWARD} ${'m'.repeat(1_000_000)}`,
    stack: `HostileError\n${'    at somewhere\n'.repeat(20_000)}`,
    props,
  };
  (error as { cause?: unknown }).cause = error;
  return error;
}

/** Tries to enqueue what JSON cannot hold. Accepting and delivering it intact is fine; so is a TypeError that adds nothing. */
async function refusedOrIntact(ctx: { client: ConformanceClient }, payload: unknown, what: string): Promise<boolean> {
  const before = await ctx.client.counts();
  try {
    await ctx.client.enqueue('conf.hostile', payload);
  } catch (error) {
    assert.ok(error instanceof TypeError, `${what}: refused with ${String(error)}, expected a TypeError`);
    assert.deepEqual(await ctx.client.counts(), before, `${what}: a refused task adds nothing`);
    return false;
  }
  return true;
}

/** Payloads, errors, results and names from outside: stored exactly or refused cleanly, never a wedge. */
export const HOSTILE_DATA_CASES: ConformanceGroup = {
  title: 'hostile payloads, errors and names',
  cases: [
    {
      title: 'payloads come back exactly: thousands of fields, megabytes, awkward text, deep nesting',
      async run(ctx) {
        let deep: unknown = 'bottom';
        for (let i = 0; i < 100; i++) deep = { down: deep };
        const payloads = [
          thousandsOfFields(10_000),
          { text: AWKWARD, big: 'x'.repeat(3 * 1024 * 1024) },
          { deep, list: Array.from({ length: 50_000 }, (_, i) => i), empty: {}, nothing: null, falsy: [0, false, ''] },
          AWKWARD,
          0,
          null,
        ];
        const ids = await ctx.client.enqueueMany(payloads.map((payload) => ({ name: 'conf.hostile', payload })));
        const got = await ctx.take(ctx.client, payloads.length, { timeoutMs: 30_000 });
        for (const task of got) assert.deepEqual(task.payload, payloads[ids.indexOf(task.id)], `payload of ${task.id}`);
        assert.deepEqual((await ctx.get(ids[1]!)).payload, payloads[1], 'get() shows the payload as given');
        await ctx.client.publish(got.map((task) => completed(task)));
      },
    },
    {
      title:
        'a payload JSON cannot hold (cycle, BigInt) is refused with a TypeError that adds nothing, or delivered intact',
      async run(ctx) {
        const cyclic: Record<string, unknown> = { name: 'loop' };
        cyclic.self = cyclic;
        const accepted = [
          await refusedOrIntact(ctx, cyclic, 'a cyclic payload'),
          await refusedOrIntact(ctx, { amount: 10n ** 20n }, 'a BigInt payload'),
        ];
        const before = await ctx.client.counts();
        let batchAccepted = true;
        try {
          await ctx.client.enqueueMany([
            { name: 'conf.hostile', payload: 'fine' },
            { name: 'conf.hostile', payload: { amount: 1n } },
          ]);
        } catch (error) {
          batchAccepted = false;
          assert.ok(error instanceof TypeError, String(error));
          assert.deepEqual(await ctx.client.counts(), before, 'a refused enqueueMany() adds none of its tasks');
        }
        const expected = accepted.filter(Boolean).length + (batchAccepted ? 2 : 0);
        if (expected > 0) {
          const got = await ctx.take(ctx.client, expected);
          for (const task of got) {
            const { payload } = task as { payload: Record<string, unknown> };
            if (payload?.name === 'loop') assert.equal(payload.self, payload, 'the cycle is kept');
          }
        }
      },
    },
    {
      title: 'publish() takes hostile errors (cycles, BigInt, throwing getters, megabytes) and is not wedged by them',
      async run(ctx) {
        const [dead, again, after] = await ctx.client.enqueueMany(
          ['dead', 'again', 'after'].map((payload) => ({ name: 'conf.hostile', payload })),
        );
        const tasks = await ctx.take(ctx.client, 3);
        const task = (id: string) => tasks.find((t) => t.id === id)!;
        const error = hostileError();
        await ctx.client.publish([failed(task(dead!), error), retry(task(again!), error, 60_000)]);
        // Outcomes published after the hostile ones still go through.
        await ctx.client.publish([completed(task(after!), 'after')]);
        assert.equal((await ctx.get(after!)).result, 'after');
        const record = await ctx.get(dead!);
        assert.equal(record.state, 'failed');
        assert.equal(record.errors[0]!.name, 'HostileError');
        assert.ok(record.errors[0]!.message.startsWith('nul'), 'the message is kept (bounded, maybe cut)');
        const retried = await ctx.get(again!);
        assert.equal(retried.attempt, 2);
        assert.equal(retried.errors.length, 1);
        const letter = (await ctx.client.deadLetters()).find((d) => d.id === dead);
        assert.equal(letter?.error.name, 'HostileError');
      },
    },
    {
      title: 'a result JSON cannot hold does not fail publish(): the task completes',
      async run(ctx) {
        const [big, loop] = await ctx.client.enqueueMany([1, 2].map((payload) => ({ name: 'conf.hostile', payload })));
        const tasks = await ctx.take(ctx.client, 2);
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        await ctx.client.publish(
          tasks.map((task) => completed(task, task.id === big ? { amount: 10n ** 20n } : cyclic)),
        );
        assert.equal((await ctx.get(big!)).state, 'completed');
        assert.equal((await ctx.get(loop!)).state, 'completed');
      },
    },
    {
      title: 'task names with newlines, escapes and hundreds of kilobytes are stored and delivered as given',
      async run(ctx) {
        const name = `forged\n[ERROR] line \u001b[31mred\u001b[0m ${'n'.repeat(300_000)}`;
        const id = await ctx.client.enqueue(name, null);
        const [task] = await ctx.take(ctx.client, 1);
        assert.equal(task!.name, name);
        await ctx.client.publish([failed(task!, { name: 'Error', message: 'no such task' }, 'unknown-task')]);
        assert.equal((await ctx.get(id)).name, name);
      },
    },
  ],
};
