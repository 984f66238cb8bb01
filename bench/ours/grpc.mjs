/**
 * Ours over gRPC: drain `count` queued no-op tasks that a GrpcTaskServer
 * (bench/ours/grpc.server.mjs, a process of its own) serves from
 * PostgreSQL or Redis, to this process's worker loop through GrpcTaskClient.
 * Rounds as in bench/ours/durable.mjs (fresh queue, PostgreSQL: a fresh
 * schema; enqueue directly into the store, timed apart; the drain timed
 * from start() to the last completion written), so the rows against the
 * direct clients show what the hop through the server costs.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootApp } from '../lib/app.mjs';
import { createDurableClient, durableClientClass } from '../lib/clients.mjs';
import { completionTracker, enqueueInBatches, serverMeter } from '../lib/durable.mjs';
import { rootPath } from '../lib/paths.mjs';
import { Skip, measureRounds, subjectMain } from '../lib/subject.mjs';

const serverProgram = fileURLToPath(new URL('./grpc.server.mjs', import.meta.url));

async function grpcEntry() {
  try {
    return await import('nestjs-worker/grpc');
  } catch (error) {
    throw new Skip(`nestjs-worker/grpc does not load: ${error.message.split('\n')[0]}`);
  }
}

/** The snapshot is compiled TypeScript only: give it the service definition dist/ ships. */
function ensureProto(protoFile) {
  if (existsSync(protoFile)) return;
  mkdirSync(dirname(protoFile), { recursive: true });
  copyFileSync(join(rootPath, 'lib/grpc/proto/task_service.proto'), protoFile);
}

function startServer(args) {
  const child = spawn(process.execPath, [serverProgram, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ child, port: JSON.parse(line).port });
    });
    child.once('exit', (code) => reject(new Error(`the gRPC task server exited (${code}) before listening`)));
  });
}

async function stopServer(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

subjectMain(async ({ backend, url, count, warmupCount, rounds, workers = 2, loop = {} }) => {
  await durableClientClass(backend);
  const { GrpcTaskClient, PROTO_FILE } = await grpcEntry();
  ensureProto(PROTO_FILE);
  const tag = `bench_grpc_${process.pid}`;
  let index = 0;
  const server = serverMeter(url);
  return measureRounds({
    rounds,
    size: count,
    warmupSize: warmupCount ?? count,
    round: async (n) => {
      const queue = `${tag}_${index}`;
      const schema = backend === 'postgres' ? `${tag}_${index}` : undefined;
      index++;
      const store = await createDurableClient(backend, url, queue, { schema });
      const enqueuePerSec = await enqueueInBatches(n, (batch) =>
        store.enqueueMany(batch.map(() => ({ name: 'noop', payload: null }))),
      );
      const { child, port } = await startServer({ backend, url, queue, schema });
      const client = await GrpcTaskClient.connect({ url: `grpc://127.0.0.1:${port}` });
      const tracker = completionTracker(n);
      const publish = client.publish.bind(client);
      client.publish = async (outcomes) => {
        await publish(outcomes);
        let completed = 0;
        for (const o of outcomes) if (o.status === 'completed') completed++;
        tracker.add(completed);
      };
      const { app, wm } = await bootApp({ workers, client: { useValue: client }, loop: { ...loop, autoStart: false } });
      try {
        const before = await store.counts();
        if (before.queued !== n)
          throw new Error(`expected ${n} queued tasks, the store counts ${JSON.stringify(before)}`);
        server.start();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        wm.start();
        const t1 = await tracker.end(
          async () => (await store.counts()).completed,
          async () => (await store.counts()).failed,
        );
        const cpu = process.cpuUsage(cpu0);
        const ms = t1 - t0;
        return {
          perSec: (n * 1000) / ms,
          ms,
          count: n,
          enqueuePerSec,
          cpuMsPerTask: (cpu.user + cpu.system) / 1000 / n,
          serverCpuMsPerTask: server.perTask(n),
        };
      } finally {
        await app.close();
        client.close();
        await stopServer(child);
        if (schema) await store.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await store.close?.();
      }
    },
  });
});
