/**
 * Shared by the gRPC tests: the service definition next to the compiled
 * library of this test build (tsc emits no .proto; scripts/build.mjs copies
 * it into dist/), a server on a free loopback port around any store, and a
 * self-signed certificate made with openssl for the TLS tests.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Injectable, Module, type LoggerService } from '@nestjs/common';
import { GrpcTaskServer, PROTO_FILE, type GrpcTaskServerOptions } from '../../lib/grpc.js';
import { Task } from '../../lib/index.js';
import type { ConformanceFeatures } from '../../lib/testing.js';

const source = fileURLToPath(new URL('../../../lib/grpc/proto/task_service.proto', import.meta.url));
mkdirSync(dirname(PROTO_FILE), { recursive: true });
copyFileSync(source, PROTO_FILE);

export const quiet: LoggerService = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** Collects what a logger is told, to assert on warnings. */
export function recordingLogger(): LoggerService & { lines: string[] } {
  const lines: string[] = [];
  const add = (message: unknown) => void lines.push(String(message));
  return { lines, log: add, warn: add, error: add };
}

export interface Served {
  server: GrpcTaskServer;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** A GrpcTaskServer on 127.0.0.1 and a free port, serving `store`. */
export async function serve(
  store: GrpcTaskServerOptions['store'],
  options: Partial<GrpcTaskServerOptions> = {},
): Promise<Served> {
  const server = new GrpcTaskServer({
    store,
    address: '127.0.0.1:0',
    logger: quiet,
    shutdownGraceMs: 1000,
    ...options,
  });
  const port = await server.start();
  const scheme = options.tls ? 'grpcs' : 'grpc';
  return { server, port, url: `${scheme}://127.0.0.1:${port}`, close: () => server.close() };
}

/** A self-signed certificate for localhost and 127.0.0.1 (openssl), as PEM text. */
export function selfSignedCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The job-control features of the conformance suite a store class offers,
 * for running the suite over gRPC: GrpcTaskClient has every method, and
 * forwards each to the server's store, so a case runs where the store
 * itself would run it (a store without the method answers UNIMPLEMENTED).
 */
export function jobControlFeatures(store: abstract new (...args: never[]) => object): ConformanceFeatures {
  const has = (name: string) => typeof (store.prototype as Record<string, unknown>)[name] === 'function';
  const features: Record<string, boolean> = {
    cancel: has('cancel') && has('watchCancels'),
    progress: has('reportProgress'),
    permits: has('acquirePermits'),
    schedules: has('fireSchedule'),
  };
  return features as ConformanceFeatures;
}

@Injectable()
class RemoteTasks {
  @Task('remote.double')
  double(n: number): number {
    return n * 2;
  }
}

@Module({ providers: [RemoteTasks] })
export class RemoteTasksModule {}

/**
 * The tasks of the apps that serve and run tasks over gRPC. Not in a spec
 * file: the pool's threads import this file, and a spec imported there would
 * run its tests (and boot their apps) inside the thread.
 */
export const REMOTE_TASKS = { module: RemoteTasksModule, file: new URL(import.meta.url) };
