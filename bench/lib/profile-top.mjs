#!/usr/bin/env node
/**
 * Summarises a .cpuprofile (from `node --cpu-prof`): self time per function,
 * and total (inclusive) time per function, top N. Usage:
 *   node bench/lib/profile-top.mjs <file.cpuprofile> [N]
 */
import { readFileSync } from 'node:fs';

const [file, topArg, lastArg] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfTicks = new Map();
const times = [];
let t = profile.startTime;
for (const d of profile.timeDeltas) times.push((t += d));
const from = lastArg ? profile.endTime - Number(lastArg) * 1e6 : -Infinity;
let total = 0;
profile.samples.forEach((id, i) => {
  if (times[i] < from) return;
  total++;
  selfTicks.set(id, (selfTicks.get(id) ?? 0) + 1);
});
const label = (n) => {
  const f = n.callFrame;
  const url = f.url ? f.url.replace(/^.*\/(node_modules|dist|bench)\//, '$1/') : '';
  return `${f.functionName || '(anonymous)'} ${url}${url ? `:${f.lineNumber + 1}` : ''}`;
};
const self = new Map();
const incl = new Map();
for (const [id, ticks] of selfTicks) {
  const key = label(nodes.get(id));
  self.set(key, (self.get(key) ?? 0) + ticks);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(nodes.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + ticks);
  }
}
const pct = (t) => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
console.log(
  `${file}: ${total} samples, ${((profile.endTime - Math.max(from, profile.startTime)) / 1e6).toFixed(2)} s${lastArg ? ' (last part only)' : ''}`,
);
console.log('-- self --');
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(t), k);
console.log('-- total --');
for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(t), k);
