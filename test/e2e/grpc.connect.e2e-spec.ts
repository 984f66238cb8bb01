/**
 * GrpcTaskClient.connect() against real servers on loopback: it waits for a
 * server that is not up yet, and when it cannot connect it says what the
 * connection failed on and what fits that: a certificate the client does not
 * trust, a client certificate the server asks for, a server without TLS
 * (each at once, since waiting mends none of them), nothing listening there
 * (when connectTimeoutMs is up).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InMemoryTaskClient } from '../../lib/index.js';
import { GrpcConnectError, GrpcConnectTimeoutError, GrpcTaskClient } from '../../lib/grpc.js';
import { taskServiceRuntime } from '../../lib/grpc/proto/task-service.loader.js';
import { quiet, selfSignedCertificate, serve, type Served } from '../support/grpc.support.js';
import { freePort } from '../support/services.js';

/** Long enough that a failure which waited it out cannot pass for one that came at once. */
const PATIENT_MS = 20_000;

/** connect() rejects, before `connectTimeoutMs` when the failure is permanent; resolves with the error. */
async function connectFailure(
  options: Parameters<typeof GrpcTaskClient.connect>[0],
): Promise<{ error: Error; elapsedMs: number }> {
  const started = Date.now();
  try {
    const client = await GrpcTaskClient.connect({ logger: quiet, ...options });
    client.close();
  } catch (error) {
    return { error: error as Error, elapsedMs: Date.now() - started };
  }
  assert.fail(`connect() to ${options.url} succeeded`);
}

/** Failed at once: not waited out as a timeout, and named as a connection that cannot be made. */
function assertPermanent({ error, elapsedMs }: { error: Error; elapsedMs: number }, url: string): void {
  assert.ok(error instanceof GrpcConnectError, String(error));
  assert.equal(error.code, 'ERR_WORKER_GRPC_CONNECT');
  assert.equal(error.address, url);
  assert.ok(error.message.includes(url), error.message);
  assert.ok(elapsedMs < PATIENT_MS, `failed after ${elapsedMs} ms, the whole connectTimeoutMs`);
}

describe('GrpcTaskClient.connect(): TLS mistakes fail at once, naming the fix', () => {
  const { cert, key } = selfSignedCertificate();
  const store = new InMemoryTaskClient();
  const servers: Served[] = [];
  after(() => Promise.all(servers.map((s) => s.close())));

  it('a client that does not trust the server certificate is told to give tls: { ca }', async () => {
    const served = await serve(store, { tls: { cert, key } });
    servers.push(served);
    const failure = await connectFailure({
      url: served.url,
      tls: { serverName: 'localhost' },
      connectTimeoutMs: PATIENT_MS,
    });
    assertPermanent(failure, served.url);
    assert.match(failure.error.message, /does not trust the certificate/);
    assert.match(failure.error.message, /self-signed certificate/);
    assert.match(failure.error.message, /tls: \{ ca \}/);
    assert.doesNotMatch(failure.error.message, /slow|stalled/);
    // The same server, its certificate trusted: the settings were the only fault.
    const client = await GrpcTaskClient.connect({ url: served.url, tls: { ca: cert }, logger: quiet });
    client.close();
  });

  it('a server that asks for a client certificate tells a client without one to give tls: { cert, key }', async () => {
    const served = await serve(store, { tls: { cert, key, ca: cert, requireClientCertificate: true } });
    servers.push(served);
    const failure = await connectFailure({ url: served.url, tls: { ca: cert }, connectTimeoutMs: PATIENT_MS });
    assertPermanent(failure, served.url);
    assert.match(failure.error.message, /certificate required/);
    assert.match(failure.error.message, /tls: \{ cert, key \}/);
  });

  it('a grpcs:// client of a server without TLS is told to use grpc://', async () => {
    const served = await serve(store);
    servers.push(served);
    const url = served.url.replace('grpc:', 'grpcs:');
    const failure = await connectFailure({ url, tls: { ca: cert }, connectTimeoutMs: PATIENT_MS });
    assertPermanent(failure, url);
    assert.match(failure.error.message, /does not speak TLS/);
    assert.match(failure.error.message, /grpc:\/\//);
  });

  it('a plaintext client of a TLS server gets no connection, and is pointed at the scheme when time is up', async () => {
    const served = await serve(store, { tls: { cert, key } });
    servers.push(served);
    const url = served.url.replace('grpcs:', 'grpc:');
    const { error } = await connectFailure({ url, connectTimeoutMs: 1500 });
    assert.ok(error instanceof GrpcConnectTimeoutError, String(error));
    assert.match(error.message, /no connection was established \(last error: /);
    assert.match(error.message, /grpcs:\/\/ for a server with TLS/);
  });
});

describe('GrpcTaskClient.connect(): a server that is not there (yet)', () => {
  it('says that nothing accepts connections on that port when connectTimeoutMs is up', async () => {
    const port = await freePort();
    const url = `grpc://127.0.0.1:${port}`;
    const { error } = await connectFailure({ url, connectTimeoutMs: 800 });
    assert.ok(error instanceof GrpcConnectTimeoutError, String(error));
    assert.equal(error.code, 'ERR_WORKER_GRPC_CONNECT_TIMEOUT');
    assert.ok(error.message.includes(url), error.message);
    assert.match(error.message, /ECONNREFUSED/);
    assert.match(error.message, /Nothing accepts connections on that host and port/);
    assert.doesNotMatch(error.message, /slow|stalled|DEADLINE_EXCEEDED/);
  });

  it('a client started before its server connects once the server is up', async () => {
    const port = await freePort();
    const client = new GrpcTaskClient({ url: `grpc://127.0.0.1:${port}`, connectTimeoutMs: PATIENT_MS, logger: quiet });
    const ready = client.ready();
    // Not a bound on anything: the client has meanwhile been refused at least once.
    await sleep(500);
    const store = new InMemoryTaskClient();
    const served = await serve(store, { address: `127.0.0.1:${port}` });
    try {
      await ready;
      const id = await client.enqueue('late.server', 1);
      assert.equal(store.get(id)?.state, 'queued');
    } finally {
      client.close();
      await served.close();
    }
  });

  it('a server that takes the connection but does not answer Hello is named slow or stalled', async () => {
    const { grpc, service } = taskServiceRuntime();
    const server = new grpc.Server();
    // Every call is taken and never answered: a server whose store hangs.
    server.addService(service, Object.fromEntries(Object.keys(service).map((name) => [name, () => undefined])));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    try {
      const { error } = await connectFailure({ url: `grpc://127.0.0.1:${port}`, connectTimeoutMs: 1000 });
      assert.ok(error instanceof GrpcConnectTimeoutError, String(error));
      assert.match(error.message, /DEADLINE_EXCEEDED/);
      assert.match(error.message, /slow or stalled/);
      assert.doesNotMatch(error.message, /no connection was established/);
    } finally {
      server.forceShutdown();
    }
  });
});
