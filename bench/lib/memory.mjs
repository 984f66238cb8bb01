/**
 * Extra memory per worker thread: the same probe is started in fresh
 * processes with 1 and with N threads; (RSS(N) - RSS(1)) / (N - 1) is what
 * one more thread costs, whatever the main thread holds. A warm-up pair runs
 * first and is not counted.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { smapsRollup } from './proc.mjs';

/** Runs in the probe process: reads this process's memory after things settled. */
export function readOwnMemory() {
  const { rss, pss } = smapsRollup('self');
  return { rss, pss, heapUsed: process.memoryUsage().heapUsed };
}

function probe(file, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(file), JSON.stringify({ ...args, probe: true })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop();
      try {
        const message = JSON.parse(line);
        if (message.ok) resolve(message.result);
        else reject(new Error(message.error ?? message.skipped));
      } catch {
        reject(new Error(`memory probe exited with ${code}: ${out.slice(-500)}`));
      }
    });
  });
}

export async function measureThreadMemory(file, { rounds, low = 1, high = 4, args = {} }) {
  const one = async () => {
    const a = await probe(file, { ...args, workers: low });
    const b = await probe(file, { ...args, workers: high });
    return {
      perThreadRss: (b.rss - a.rss) / (high - low),
      perThreadPss: (b.pss - a.pss) / (high - low),
      [`rss${low}`]: a.rss,
      [`rss${high}`]: b.rss,
      // One thread's V8 heap in the N-thread process (bench/fixtures/heap.probe.ts), when the program reports it.
      ...(b.heap ? { threadHeap: b.heap } : {}),
    };
  };
  const warmup = await one();
  const measured = [];
  for (let i = 0; i < rounds; i++) measured.push(await one());
  return { warmup, rounds: measured, threads: [low, high] };
}
