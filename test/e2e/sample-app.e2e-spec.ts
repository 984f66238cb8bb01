// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- the sample's own ambient types for pngjs
/// <reference path="../../sample-app/src/types/pngjs.d.ts" />
/**
 * The sample app (sample-app/), built with tsc and run as a real process on
 * the in-memory client, driven over HTTP: queued and synchronous tasks with
 * checked results, validation, health under saturation, and SIGTERM with
 * work in flight.
 */
import assert from 'node:assert/strict';
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import {
  buildSampleApp,
  median,
  percentile,
  startSampleApp,
  waitForTask,
  type SampleApp,
} from '../fixtures/sample-app/harness.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A width x height PNG: left half red, right half blue. */
function twoColourPng(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const left = x < width / 2;
      data[i] = left ? 255 : 0;
      data[i + 2] = left ? 0 : 255;
      data[i + 3] = 255;
    }
  }
  return PNG.sync.write({ width, height, data });
}

function pixel(png: { width: number; data: Buffer }, x: number, y: number): number[] {
  const i = (y * png.width + x) * 4;
  return [...png.data.subarray(i, i + 4)];
}

// PBKDF2 work per task: ~1 s of one idle core here (more on a loaded
// machine) for the shutdown test, twice that for the saturation test.
const KDF = { secret: 'correct horse battery staple', salt: 'sample-app-e2e', iterations: 3_000_000 };
const HEAVY_KDF = { ...KDF, iterations: 6_000_000 };

describe('sample app (in-memory client): a real NestJS HTTP app offloading CPU work', () => {
  let app: SampleApp;

  before(async () => {
    buildSampleApp();
    app = await startSampleApp({ SHUTDOWN_TIMEOUT_MS: '20000' });
  });
  after(async () => {
    await app?.kill();
  });

  it('boots two worker threads with every task, and reports them on /health and /tasks', async () => {
    const health = await app.request('GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
    assert.equal(health.body.backend, 'memory');
    assert.equal(health.body.workers.workers.size, 2);
    assert.equal(health.body.workers.loop, 'running');
    const tasks = await app.request('GET', '/tasks');
    assert.equal(tasks.status, 200);
    const names = tasks.body.tasks.map((t: { name: string }) => t.name);
    for (const name of [
      'thumbnail',
      'password.hash',
      'password.verify',
      'kdf.derive',
      'file.hash',
      'compress',
      'report.sales',
      'report.sales-shard',
    ]) {
      assert.ok(names.includes(name), `${name} missing from ${names}`);
    }
    const report = tasks.body.tasks.find((t: { name: string }) => t.name === 'report.sales');
    assert.equal(report.timeoutMs, 60_000);
    assert.equal(report.maxAttempts, 3);
    assert.match(report.payload.rows, /integer/);
  });

  it('enqueues a thumbnail (202 + id) and completes it with the right size and colours', async () => {
    const png = twoColourPng(300, 200);
    const enqueued = await app.request('POST', '/tasks/thumbnail', { png: png.toString('base64'), width: 30 });
    assert.equal(enqueued.status, 202, JSON.stringify(enqueued.body));
    assert.equal(typeof enqueued.body.id, 'string');
    assert.equal(enqueued.headers.get('location'), `/tasks/${encodeURIComponent(enqueued.body.id)}`);
    const done = await waitForTask(app, enqueued.body.id);
    assert.equal(done.state, 'completed', JSON.stringify(done.errors));
    assert.equal(done.attempt, 1);
    const { width, height, sourceWidth, sourceHeight, filter, bytes } = done.result;
    assert.deepEqual(
      { width, height, sourceWidth, sourceHeight, filter },
      { width: 30, height: 20, sourceWidth: 300, sourceHeight: 200, filter: 'box' },
    );
    const thumbnail = PNG.sync.read(Buffer.from(done.result.png, 'base64'));
    assert.equal(bytes, Buffer.from(done.result.png, 'base64').length);
    assert.deepEqual([thumbnail.width, thumbnail.height], [30, 20]);
    // A box filter averages whole 10x10 blocks: each half keeps its exact colour.
    assert.deepEqual(pixel(thumbnail, 3, 10), [255, 0, 0, 255]);
    assert.deepEqual(pixel(thumbnail, 26, 10), [0, 0, 255, 255]);
  });

  it('runs a bilinear thumbnail of a generated picture synchronously with POST /run', async () => {
    const started = Date.now();
    const response = await app.request('POST', '/run/thumbnail', {
      pattern: { width: 1600, height: 1200 },
      width: 200,
      height: 100,
      filter: 'bilinear',
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.task, 'thumbnail');
    const result = response.body.result;
    // Fits in 200x100 keeping 4:3.
    assert.deepEqual([result.width, result.height, result.filter], [133, 100, 'bilinear']);
    const thumbnail = PNG.sync.read(Buffer.from(result.png, 'base64'));
    assert.deepEqual([thumbnail.width, thumbnail.height], [133, 100]);
    console.log(
      `# thumbnail 1600x1200 -> 133x100 (bilinear): ${result.ms} ms in the thread, ${Date.now() - started} ms over HTTP`,
    );
  });

  it('hashes a queued 2 MB upload to the same SHA-256 as node:crypto', async () => {
    const file = randomBytes(2 * 1024 * 1024);
    const enqueued = await app.request('POST', '/tasks/file.hash', { data: file.toString('base64') });
    assert.equal(enqueued.status, 202);
    const done = await waitForTask(app, enqueued.body.id);
    assert.equal(done.state, 'completed', JSON.stringify(done.errors));
    assert.equal(done.result.digest, createHash('sha256').update(file).digest('hex'));
    assert.equal(done.result.bytes, file.length);
  });

  it('hashes and verifies a password with scrypt, and derives a PBKDF2 key equal to node:crypto', async () => {
    const hashed = await app.request('POST', '/run/password.hash', { password: 'hunter2', cost: 14 });
    assert.equal(hashed.status, 200, JSON.stringify(hashed.body));
    assert.match(hashed.body.result.hash, /^\$scrypt\$ln=14,r=8,p=1\$/);
    const good = await app.request('POST', '/run/password.verify', {
      password: 'hunter2',
      hash: hashed.body.result.hash,
    });
    const bad = await app.request('POST', '/run/password.verify', {
      password: 'hunter3',
      hash: hashed.body.result.hash,
    });
    assert.equal(good.body.result.valid, true);
    assert.equal(bad.body.result.valid, false);
    const derived = await app.request('POST', '/run/kdf.derive', {
      secret: 's3cret',
      salt: 'some-salt',
      iterations: 10_000,
    });
    assert.equal(derived.body.result.key, pbkdf2Sync('s3cret', 'some-salt', 10_000, 32, 'sha256').toString('hex'));
  });

  it('compresses an upload with gzip and brotli; the output decompresses to the input', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(20_000);
    for (const algorithm of ['gzip', 'brotli'] as const) {
      const response = await app.request('POST', '/run/compress', { text, algorithm });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const { inputBytes, outputBytes, data, level } = response.body.result;
      assert.equal(inputBytes, Buffer.byteLength(text));
      assert.ok(outputBytes < inputBytes / 50, `${algorithm}: ${outputBytes} bytes`);
      assert.equal(level, algorithm === 'gzip' ? 9 : 11);
      const packed = Buffer.from(data, 'base64');
      assert.equal((algorithm === 'gzip' ? gunzipSync(packed) : brotliDecompressSync(packed)).toString(), text);
    }
  });

  it('retries a failing report with backoff and records the failed attempt', async () => {
    const enqueued = await app.request('POST', '/tasks/report.sales', { rows: 50_000, seed: 7, simulateFailures: 1 });
    assert.equal(enqueued.status, 202);
    const done = await waitForTask(app, enqueued.body.id);
    assert.equal(done.state, 'completed', JSON.stringify(done));
    assert.equal(done.attempt, 2);
    assert.equal(done.errors.length, 1);
    assert.match(done.errors[0].message, /Simulated failure of attempt 1/);
    assert.equal(done.result.rows, 50_000);
  });

  it('splits a report over the threads with map() and gets exactly the single-task numbers', async () => {
    const sharded = await app.request('POST', '/reports/sales', { rows: 300_000, seed: 3, shards: 5 });
    assert.equal(sharded.status, 200, JSON.stringify(sharded.body));
    assert.equal(sharded.body.shards, 5);
    const single = await app.request('POST', '/run/report.sales', { rows: 300_000, seed: 3 });
    assert.equal(single.status, 200, JSON.stringify(single.body));
    const a = sharded.body.report;
    const b = single.body.result;
    assert.equal(a.rows, 300_000);
    assert.equal(a.totals.orders, 300_000);
    assert.equal(a.totals.revenueCents, b.totals.revenueCents);
    assert.deepEqual(
      a.regions.map((r: any) => [r.name, r.orders, r.revenue, r.min, r.max, r.p50, r.p95]),
      b.regions.map((r: any) => [r.name, r.orders, r.revenue, r.min, r.max, r.p50, r.p95]),
    );
    assert.deepEqual(a.months, b.months);
    assert.match(b.text, /Sales report, 300,000 orders \(seed 3\)/);
  });

  it('answers 404 for an unknown task name (enqueue and run) or task id, with a clear message', async () => {
    for (const path of ['/tasks/resize-video', '/run/resize-video']) {
      const response = await app.request('POST', path, {});
      assert.equal(response.status, 404, path);
      assert.equal(response.body.task, 'resize-video');
      assert.match(response.body.message, /Unknown task "resize-video"\. Known tasks: .*"thumbnail"/);
    }
    const missing = await app.request('GET', '/tasks/no-such-id');
    assert.equal(missing.status, 404);
    assert.match(missing.body.message, /No task with id "no-such-id"/);
  });

  it('answers 400 for a bad payload, naming the task and what is wrong; nothing is enqueued or lost', async () => {
    const before = (await app.request('GET', '/health')).body;
    const wrongType = await app.request('POST', '/tasks/thumbnail', {
      pattern: { width: 100, height: 100 },
      width: 'wide',
    });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.task, 'thumbnail');
    assert.match(
      wrongType.body.message,
      /^Invalid payload for task "thumbnail": width: must be an integer from 1 to 2048, got "wide"/,
    );
    const typo = await app.request('POST', '/run/compress', { txt: 'hello' });
    assert.equal(typo.status, 400);
    assert.deepEqual(typo.body.problems, ['txt: is not a known field (known: data, text, algorithm, level)']);
    const missing = await app.request('POST', '/tasks/password.hash', {});
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /password: is required/);
    const notAnObject = await app.request('POST', '/tasks/report.sales', [1, 2]);
    assert.equal(notAnObject.status, 400);
    assert.match(notAnObject.body.message, /payload must be a JSON object, got an array/);
    const badJson = await app.request('POST', '/tasks/report.sales', '{"rows": 12', {
      'content-type': 'application/json',
    });
    assert.equal(badJson.status, 400);
    assert.match(badJson.body.message, /The body of POST \/tasks\/report\.sales is not valid JSON/);
    const notJson = await app.request('POST', '/tasks/report.sales', 'rows=12', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(notJson.status, 415);
    // A payload that passes the schema but cannot be processed: 422, not retried.
    const notPng = await app.request('POST', '/run/thumbnail', {
      png: Buffer.from('GIF89a, not a PNG').toString('base64'),
      width: 10,
    });
    assert.equal(notPng.status, 422);
    assert.match(notPng.body.message, /not a PNG file/);

    const after = (await app.request('GET', '/health')).body;
    assert.deepEqual(after.tasks, before.tasks, 'no task was enqueued');
    assert.equal(after.workers.crashed, before.workers.crashed);
    assert.equal(after.workers.workers.alive, 2);
  });

  it('stops a task at its time limit (504) and keeps serving with a fresh thread', async () => {
    const before = (await app.request('GET', '/health')).body.workers;
    const started = Date.now();
    // 20 million rows is several seconds of a synchronous loop.
    const response = await app.request('POST', '/run/report.sales?timeoutMs=300', { rows: 20_000_000 });
    const elapsed = Date.now() - started;
    assert.equal(response.status, 504, JSON.stringify(response.body));
    assert.equal(response.body.code, 'ERR_WORKER_TASK_TIMEOUT');
    assert.match(
      response.body.message,
      /Task "report\.sales" timed out after 300 ms; its worker thread was stopped and replaced/,
    );
    assert.ok(elapsed < 5_000, `answered after ${elapsed} ms`);
    const next = await app.request('POST', '/run/password.hash', { password: 'x', cost: 14 });
    assert.equal(next.status, 200);
    const health = (await app.request('GET', '/health')).body.workers;
    assert.equal(health.timedOut, before.timedOut + 1);
    assert.equal(health.workers.alive, 2);
  });

  it('keeps /health fast while every worker thread is busy for seconds', async () => {
    // 4 key derivations of ~2 s each on 2 threads: both busy for ~4 s.
    const runs = Array.from({ length: 4 }, () => {
      const t0 = Date.now();
      return app.request('POST', '/run/kdf.derive', HEAVY_KDF).then((r) => ({ ...r, wallMs: Date.now() - t0 }));
    });
    const latencies: number[] = [];
    let saturated = 0;
    const deadline = Date.now() + 60_000;
    let settled = false;
    void Promise.allSettled(runs).then(() => (settled = true));
    while (!settled && Date.now() < deadline) {
      const t0 = performance.now();
      const health = await app.request('GET', '/health');
      const ms = performance.now() - t0;
      assert.equal(health.status, 200);
      // Only samples taken while both threads were running count.
      if (health.body.workers.running === 2) {
        saturated++;
        latencies.push(ms);
      }
      await sleep(100);
    }
    const results = await Promise.all(runs);
    const expected = pbkdf2Sync(HEAVY_KDF.secret, HEAVY_KDF.salt, HEAVY_KDF.iterations, 32, 'sha256').toString('hex');
    for (const r of results) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.result.key, expected);
    }
    assert.ok(saturated >= 5, `only ${saturated} /health samples while saturated`);
    const taskMs = results.map((r) => r.body.result.ms as number);
    const wallMs = results.map((r) => r.wallMs);
    const m = median(latencies);
    console.log(
      `# /health under saturation: median ${m.toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms over ${latencies.length} samples; ` +
        `kdf.derive (${HEAVY_KDF.iterations} iterations) ${Math.min(...taskMs)}..${Math.max(...taskMs)} ms in the threads, /run answered after ${Math.min(...wallMs)}..${Math.max(...wallMs)} ms`,
    );
    assert.ok(Math.max(...wallMs) >= 1000, 'the workload should keep the threads busy for seconds');
    assert.ok(m < 500, `/health median ${m} ms while saturated`);
  });

  // Last: it ends the process.
  it('on SIGTERM finishes the work in flight, answers the waiting /run requests, refuses new ones, exits 0', async () => {
    const runs = Array.from({ length: 3 }, () => app.request('POST', '/run/kdf.derive', KDF));
    const deadline = Date.now() + 30_000;
    while ((await app.request('GET', '/health')).body.workers.running < 2) {
      assert.ok(Date.now() < deadline, 'the threads never got busy');
      await sleep(20);
    }
    const signalledAt = Date.now();
    app.process.kill('SIGTERM');
    await sleep(300);
    const refused = await app.request('GET', '/health').catch((error: Error) => ({ status: 0, body: error.message }));
    const answers = await Promise.all(runs);
    const exit = await app.exited;
    const exitMs = Date.now() - signalledAt;
    console.log(
      `# SIGTERM with 2 tasks running and 1 queued: process exited ${exitMs} ms later with ${JSON.stringify(exit)}`,
    );

    assert.deepEqual(exit, { code: 0, signal: null }, app.output());
    const expected = pbkdf2Sync(KDF.secret, KDF.salt, KDF.iterations, 32, 'sha256').toString('hex');
    for (const answer of answers) {
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.result.key, expected);
    }
    assert.equal(
      refused.status,
      503,
      `a request during shutdown got ${refused.status} ${JSON.stringify(refused.body)}`,
    );
    assert.ok(exitMs < 20_000, `exit took ${exitMs} ms`);
    assert.match(app.output(), /SIGTERM: refusing new requests; letting 2 running task\(s\) finish, and 1 queued one/);
    assert.match(app.output(), /Shut down cleanly after SIGTERM/);
  });
});
