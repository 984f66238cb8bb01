/**
 * The task server of the gRPC drain (bench/ours/grpc.mjs), in a process of
 * its own as in a deployment: serves the durable queue named in argv[2]
 * (JSON: backend, url, queue, schema) on a free loopback port, prints
 * `{"port": n}` once listening, stops on SIGTERM.
 */
import 'reflect-metadata';
import { GrpcTaskServer } from 'nestjs-worker/grpc';
import { createDurableClient } from '../lib/clients.mjs';

const { backend, url, queue, schema } = JSON.parse(process.argv[2]);
const store = await createDurableClient(backend, url, queue, { schema });
const quiet = { log() {}, warn() {}, error: (message) => console.error(message) };
const server = new GrpcTaskServer({ store, address: '127.0.0.1:0', logger: quiet });
const port = await server.start();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.once('SIGTERM', async () => {
  await server.close();
  await store.close?.();
  process.exit(0);
});
