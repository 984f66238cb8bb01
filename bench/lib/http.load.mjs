/**
 * The end-to-end load: the app runs in a process of its own
 * (bench/lib/http.server.mjs) and this process loads it, the same way for
 * every mode. Per round, for `durationMs`:
 *   - `heavyClients` closed-loop clients each call GET /heavy?n=<~50 ms of
 *     burn()> again as soon as the last answer came: heavy requests per
 *     second is the app's throughput for CPU-heavy requests;
 *   - GET /light is called at `lightRate` per second, open loop (each due at
 *     t0 + i / rate whatever happened before, latency counted from when it
 *     was due): its p99 is how responsive the app stays under that load.
 * The load generator shares the machine's cores with the app (2 here), the
 * same for every mode.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { percentileSorted } from './stats.mjs';
import { Skip } from './subject.mjs';

const serverFile = fileURLToPath(new URL('./http.server.mjs', import.meta.url));

async function startServer(args) {
  try {
    await import('@nestjs/platform-express');
  } catch {
    throw new Skip('@nestjs/platform-express is not installed (npm install at the root installs it for sample-app)');
  }
  const child = fork(serverFile, [JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the HTTP app exited (${code}) before it listened`)));
    child.on('message', (m) => m?.kind === 'listening' && resolve(m.port));
  });
  const close = () =>
    new Promise((resolve) => {
      child.once('exit', resolve);
      child.send({ kind: 'close' });
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
  return { port, close };
}

function get(agent, port, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

async function round(port, { durationMs, heavyClients, heavyIterations, lightRate }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const t0 = performance.now() + 20;
  const end = t0 + durationMs;
  let heavyDone = 0;
  const heavy = Array.from({ length: heavyClients }, async () => {
    while (performance.now() < t0) await new Promise((r) => setTimeout(r, 1));
    while (performance.now() < end) {
      await get(agent, port, `/heavy?n=${heavyIterations}`);
      if (performance.now() <= end) heavyDone++;
    }
  });
  const count = Math.max(1, Math.round((lightRate * durationMs) / 1000));
  const latencies = new Float64Array(count);
  const light = [];
  await new Promise((resolve) => {
    let issued = 0;
    const tick = () => {
      const now = performance.now();
      while (issued < count && t0 + (issued * 1000) / lightRate <= now) {
        const i = issued++;
        const due = t0 + (i * 1000) / lightRate;
        light.push(get(agent, port, '/light').then(() => (latencies[i] = performance.now() - due)));
      }
      if (issued === count) return resolve();
      setTimeout(tick, Math.max(0, t0 + (issued * 1000) / lightRate - performance.now()));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  await Promise.all([...heavy, ...light]);
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    heavyPerSec: (heavyDone * 1000) / durationMs,
    lightP50: percentileSorted(sorted, 50),
    lightP99: percentileSorted(sorted, 99),
    lightMax: sorted[sorted.length - 1],
    lightCount: count,
  };
}

/** Boots the app in `mode`, runs a warm-up round and `rounds` measured rounds, closes it. */
export async function measureHttp(mode, { rounds, durationMs, warmupMs, workers = 2, redisUrl, ...load }) {
  const server = await startServer({ mode, workers, redisUrl });
  try {
    const warmup = await round(server.port, { ...load, durationMs: warmupMs ?? durationMs });
    const measured = [];
    for (let i = 0; i < rounds; i++) {
      await new Promise((r) => setTimeout(r, 300));
      measured.push(await round(server.port, { ...load, durationMs }));
    }
    return { warmup, rounds: measured, mode };
  } finally {
    await server.close();
  }
}
