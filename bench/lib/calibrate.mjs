/**
 * How many `burn()` iterations make one millisecond of CPU on this machine:
 * the median of repeated timed runs after a warm-up, in a fresh process.
 * Every CPU-bound subject then gets the same iteration count.
 */
import { fixture } from './paths.mjs';
import { median } from './stats.mjs';
import { subjectMain } from './subject.mjs';

subjectMain(async () => {
  const { burn } = await import(fixture('bodies.js').href);
  const probe = 2_000_000;
  for (let i = 0; i < 20; i++) burn(probe);
  const perMs = [];
  for (let i = 0; i < 31; i++) {
    const t0 = performance.now();
    burn(probe);
    perMs.push(probe / (performance.now() - t0));
  }
  return { iterationsPerMs: Math.round(median(perMs)) };
});
