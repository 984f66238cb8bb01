/**
 * Two subjects measured round by round in turn: both processes boot, then
 * the orchestrator asks each for its warm-up and then for one measured round
 * at a time, A B, B A, A B, ... (who goes first alternates, so a drift of the
 * machine's speed during the pair falls on both alike). Only one of them is
 * ever measuring; the other waits, idle. On a shared machine whose load
 * comes and goes, the two figures of a ratio then come from the same minutes.
 *
 * A subject opts in with `interleave: '<other id>'` in the registry; its
 * program must time its rounds with measureRounds (bench/lib/subject.mjs).
 */
import { startChild } from './child.mjs';

/** Resolves [outcomeA, outcomeB], each as runChild's. */
export async function runInterleaved([a, b], rounds, options) {
  const children = [a, b].map(({ id, spec, args }) => startChild(id, spec, args, { ...options, interleaved: true }));
  const waiting = children.map((child) => {
    let resolveIdle;
    let finished = false;
    const state = {
      idle: new Promise((resolve) => (resolveIdle = resolve)),
      get finished() {
        return finished;
      },
    };
    child.onIdle(() => {
      const resolve = resolveIdle;
      state.idle = new Promise((r) => (resolveIdle = r));
      resolve(true);
    });
    // A child that ends (error, skip, or a program that timed its rounds itself) never says 'idle' again.
    child.done.then(() => {
      finished = true;
      resolveIdle(false);
    });
    return state;
  });
  // Both booted and ready (or already ended) before anything is measured.
  const ready = await Promise.all(waiting.map((w) => w.idle));
  const step = async (i, index) => {
    if (!ready[i] || waiting[i].finished) return;
    const idleAgain = waiting[i].idle;
    children[i].send({ kind: 'round', index });
    ready[i] = await idleAgain;
  };
  await step(0, -1);
  await step(1, -1);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) await step(i, round);
  }
  for (const child of children) child.send({ kind: 'finish' });
  return Promise.all(children.map((child) => child.done));
}
