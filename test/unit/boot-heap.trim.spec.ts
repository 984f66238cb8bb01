import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { trimBootHeap } from '../../lib/thread/boot-heap.trim.js';

const trimFile = new URL('../../lib/thread/boot-heap.trim.js', import.meta.url).href;

/**
 * A thread that grows its young generation the way booting a Nest context
 * does (many allocations that survive), then trims: the young generation's
 * committed size before and after.
 */
const growThenTrim = `(async () => {
  const { parentPort } = require('node:worker_threads');
  const { getHeapSpaceStatistics } = require('node:v8');
  const { trimBootHeap } = await import(${JSON.stringify(trimFile)});
  const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
  let kept = [];
  for (let i = 0; i < 400000; i++) kept.push({ i, label: 'row ' + i });
  kept = undefined;
  const before = newSpace();
  await trimBootHeap();
  parentPort.postMessage({ before, after: newSpace() });
})();`;

function runThread(source: string): Promise<{ before: number; after: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true });
    worker.once('message', (message: { before: number; after: number }) => {
      void worker.terminate();
      resolve(message);
    });
    worker.once('error', reject);
  });
}

describe('trimBootHeap', () => {
  it("shrinks a worker thread's young generation grown by surviving allocations", async () => {
    const { before, after } = await runThread(growThenTrim);
    assert.ok(after < before, `new space ${after} bytes after the trim, ${before} before`);
  });

  it('leaves the main thread alone', async () => {
    await trimBootHeap();
  });

  it('resolves where the inspector is not available (permission model)', () => {
    const script = `import(${JSON.stringify(trimFile)}).then(({ trimBootHeap }) => trimBootHeap()).then(() => console.log('trimmed'))`;
    const source = `const { Worker } = require('node:worker_threads');
      new Worker(${JSON.stringify(script)}, { eval: true }).on('error', (e) => { console.error(e); process.exit(1); });`;
    const child = spawnSync(
      process.execPath,
      ['--experimental-permission', '--allow-fs-read=*', '--allow-worker', '-e', source],
      { encoding: 'utf8' },
    );
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /trimmed/);
  });
});
