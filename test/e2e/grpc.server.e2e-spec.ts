/**
 * GrpcTaskServer and GrpcTaskClient beyond the conformance suite, over
 * loopback with real servers: TLS with a self-signed certificate made by
 * openssl, the token and the authenticate hook (an unauthenticated worker
 * is refused with UNAUTHENTICATED), errors that name the server, the peer
 * loaded only when used, and the Nest wiring end to end (a server app
 * serving its WorkerModule's store, a worker app pulling from it).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { Test } from '@nestjs/testing';
import { InMemoryTaskClient, TASK_CLIENT, WorkerModule } from '../../lib/index.js';
import {
  GrpcTaskClient,
  GrpcTaskServerModule,
  GrpcUnauthenticatedError,
  type GrpcCallIdentity,
} from '../../lib/grpc.js';
import {
  quiet,
  recordingLogger,
  REMOTE_TASKS,
  selfSignedCertificate,
  serve,
  type Served,
} from '../support/grpc.support.js';
import { freePort } from '../support/services.js';

const take = async (client: GrpcTaskClient, count: number) => {
  const got = [];
  const deadline = Date.now() + 10_000;
  while (got.length < count && Date.now() < deadline)
    got.push(...(await client.fetch(count, AbortSignal.timeout(1000))));
  return got;
};

describe('GrpcTaskServer: TLS', () => {
  const { cert, key } = selfSignedCertificate();
  const store = new InMemoryTaskClient();
  let served: Served;

  after(() => served?.close());

  it('serves over TLS to a client that trusts its certificate (the others: grpc.connect.e2e-spec)', async () => {
    served = await serve(store, { tls: { cert, key } });
    assert.match(served.url, /^grpcs:/);
    const client = await GrpcTaskClient.connect({
      url: served.url,
      tls: { ca: cert, serverName: 'localhost' },
      logger: quiet,
    });
    try {
      const id = await client.enqueue('tls.task', { secret: 'over TLS' });
      const [task] = await take(client, 1);
      assert.equal(task?.id, id);
      assert.deepEqual(task?.payload, { secret: 'over TLS' });
      await client.publish([{ status: 'completed', task: task!, result: 'ok', durationMs: 1 }]);
      assert.equal(store.get(id)?.state, 'completed');
    } finally {
      client.close();
    }
  });
});

describe('GrpcTaskServer: authentication', () => {
  const store = new InMemoryTaskClient();
  const seen: GrpcCallIdentity[] = [];
  let served: Served;

  after(() => served?.close());

  it('refuses a worker without the token with UNAUTHENTICATED, and serves one with it', async () => {
    served = await serve(store, {
      authenticate: (call) => {
        seen.push(call);
        return call.token === 's3cret';
      },
    });
    for (const token of [undefined, 'wrong']) {
      await assert.rejects(GrpcTaskClient.connect({ url: served.url, token, logger: quiet }), (error: Error) => {
        assert.ok(error instanceof GrpcUnauthenticatedError, String(error));
        assert.equal((error as GrpcUnauthenticatedError).code, 'ERR_WORKER_GRPC_UNAUTHENTICATED');
        assert.ok(error.message.includes(served.url), error.message);
        assert.match(error.message, /token/);
        return true;
      });
    }
    // Every call is checked, not only the first: a worker that skipped connect() is refused too.
    const sneaky = new GrpcTaskClient({ url: served.url, logger: quiet });
    store.enqueue('auth.task', 1);
    try {
      await assert.rejects(sneaky.fetch(10, AbortSignal.timeout(5000)), GrpcUnauthenticatedError);
      await assert.rejects(sneaky.enqueue('auth.task', 2), GrpcUnauthenticatedError);
      await assert.rejects(sneaky.counts(), GrpcUnauthenticatedError);
    } finally {
      sneaky.close();
    }
    assert.equal(store.counts().queued, 1, 'nothing was handed out or added for a refused worker');

    const worker = await GrpcTaskClient.connect({ url: served.url, token: async () => 's3cret', logger: quiet });
    try {
      const [task] = await take(worker, 1);
      assert.equal(task?.payload, 1);
    } finally {
      worker.close();
    }
    const last = seen.at(-1)!;
    assert.equal(last.token, 's3cret');
    assert.equal(last.method, 'Fetch');
    assert.match(last.peer, /127\.0\.0\.1/);
    assert.equal(last.metadata.authorization, 'Bearer s3cret');
  });
});

describe('GrpcTaskClient: errors and loading', () => {
  it('relays a store error that ends in a full stop without doubling it', async () => {
    const logger = recordingLogger();
    const store = new InMemoryTaskClient();
    store.counts = () => {
      throw new Error('Table "tasks" does not exist (applied in onModuleInit()).');
    };
    const served = await serve(store, { logger });
    const client = await GrpcTaskClient.connect({ url: served.url, logger: quiet });
    try {
      await assert.rejects(client.counts(), /does not exist/);
      const line = logger.lines.find((l) => l.includes('does not exist'));
      assert.ok(line, logger.lines.join('\n'));
      assert.match(line, /onModuleInit\(\)\)\. The remote worker is told/);
    } finally {
      client.close();
      await served.close();
    }
  });

  it('refuses a URL of another scheme with an error that says which to use', () => {
    assert.throws(
      () => new GrpcTaskClient({ url: 'http://127.0.0.1:50051' }),
      (error: Error) =>
        (error as { code?: string }).code === 'ERR_WORKER_GRPC_INVALID_OPTIONS' && /grpcs?:\/\//.test(error.message),
    );
  });

  it('loads @grpc/grpc-js only when a client or a server is made', () => {
    const barrel = new URL('../../lib/grpc.js', import.meta.url).href;
    const script = `
      import { createRequire } from 'node:module';
      const mod = await import(${JSON.stringify(barrel)});
      const require = createRequire(import.meta.url);
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('@grpc'));
      const before = loaded();
      new mod.GrpcTaskClient({ url: 'grpc://127.0.0.1:1' }).close();
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), { before: false, after: true });
  });
});

describe('GrpcTaskServerModule with WorkerModule', () => {
  it('a server app serves its own store; a worker app runs the tasks through GrpcTaskClient', async () => {
    const port = await freePort();
    const server = await Test.createTestingModule({
      imports: [
        // Its own loop stays off: every task goes to the remote worker.
        WorkerModule.forRoot({
          tasksModule: REMOTE_TASKS,
          loop: { autoStart: false },
          workers: 1,
        }),
        GrpcTaskServerModule.forRootAsync({
          inject: [TASK_CLIENT],
          useFactory: (store: InMemoryTaskClient) => ({
            store,
            address: `127.0.0.1:${port}`,
            token: 't',
            logger: quiet,
          }),
        }),
      ],
    }).compile();
    server.useLogger(false);
    await server.init();
    const worker = await Test.createTestingModule({
      imports: [
        WorkerModule.forRoot({
          tasksModule: REMOTE_TASKS,
          workers: 1,
          client: {
            useFactory: () => GrpcTaskClient.connect({ url: `grpc://127.0.0.1:${port}`, token: 't', logger: quiet }),
          },
        }),
      ],
    }).compile();
    worker.useLogger(false);
    try {
      await worker.init();
      const store = server.get<InMemoryTaskClient>(TASK_CLIENT);
      const ids = store.enqueueMany([1, 2, 3].map((n) => ({ name: 'remote.double', payload: n })));
      const records = await Promise.all(ids.map((id) => store.waitFor<number>(id, AbortSignal.timeout(20_000))));
      assert.deepEqual(
        records.map((r) => [r.state, r.result]),
        [
          ['completed', 2],
          ['completed', 4],
          ['completed', 6],
        ],
      );
    } finally {
      await worker.close();
      await server.close();
    }
  });
});
