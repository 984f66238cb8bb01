import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type LoggerService,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type * as Grpc from '@grpc/grpc-js';
import { describeThrown } from '../../clients/kit/json.encoder.js';
import { optionChecks, shown } from '../../common/option-checks.js';
import { Messages } from '../../errors/error-messages.js';
import { InvalidGrpcOptionsError } from '../../errors/worker.errors.js';
import type { RegisteredTask, TaskClient, TaskEnvelope } from '../../interfaces/task-client.interface.js';
import { taskServiceRuntime, type TaskServiceRuntime } from '../proto/task-service.loader.js';
import { CallAuthenticator } from './call.authenticator.js';
import { FetchCoordinator } from './fetch.coordinator.js';
import { GRPC_TASK_SERVER_OPTIONS, type GrpcTaskServerOptions } from './grpc-task-server-options.interface.js';
import { LeaseKeepingStore } from './lease-keeping.store.js';
import { storeFeatures, storeName, type StoreFeature } from '../store-features.js';
import { StoreCallBatcher } from './store-call.batcher.js';
import { taskServiceHandlers } from './task-service.handlers.js';
import { WatchBroadcaster } from './watch.broadcaster.js';

const OWNER = 'GrpcTaskServer';

/**
 * Serves a task store to remote worker loops (`GrpcTaskClient`) over gRPC.
 * The store's semantics travel unchanged: a delivery's receipt goes to the
 * worker opaque and comes back with its outcome, extensions and start
 * marks, so the store fences stale outcomes as it would for a local loop;
 * its leases are extended by the remote loops. A store without leases (the
 * in-memory client) gets leases kept by the server, so the tasks of a
 * worker that died come back.
 *
 * In a Nest app, through `GrpcTaskServerModule` (listens on application
 * bootstrap, stops before shutdown, before the store closes); or on its own:
 * `await new GrpcTaskServer(options).start()`, `await server.close()`.
 */
@Injectable()
export class GrpcTaskServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: LoggerService;
  private readonly runtime: TaskServiceRuntime;
  private readonly worker: TaskClient;
  private readonly keeper?: LeaseKeepingStore;
  private readonly fetches: FetchCoordinator;
  private readonly watchers: WatchBroadcaster;
  private readonly auth: CallAuthenticator;
  private readonly registrations = new Map<string, RegisteredTask>();
  private readonly features: readonly StoreFeature[];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly settings: {
    maxFetchWaitMs: number;
    maxMessageBytes: number;
    shutdownGraceMs: number;
  };
  private server?: Grpc.Server;
  private unwatch?: () => void;
  private unwatchCancels?: () => void;
  private boundPort?: number;
  private starting?: Promise<number>;
  private closing?: Promise<void>;
  /** The lease remote workers hold deliveries under. */
  readonly leaseMs: number;

  constructor(@Inject(GRPC_TASK_SERVER_OPTIONS) private readonly options: GrpcTaskServerOptions) {
    const fail = (path: string, problem: string, fix: string) => new InvalidGrpcOptionsError(OWNER, path, problem, fix);
    if (options === null || typeof options !== 'object')
      throw fail('store', 'is missing: the options object was not given', 'Pass { store, address }.');
    const { store } = options;
    if (
      !store ||
      typeof store.fetch !== 'function' ||
      typeof store.publish !== 'function' ||
      typeof store.enqueue !== 'function'
    )
      throw fail(
        'store',
        `must be a task client with both sides (fetch/publish and enqueue/get), got ${shown(typeof store)}`,
        'Pass an InMemoryTaskClient, PostgresTaskClient or RedisTaskClient instance (in a module, inject it: GrpcTaskServerModule.forRootAsync({ inject: [TASK_CLIENT], useFactory: (store) => ({ store, address }) })).',
      );
    if (typeof options.address !== 'string' || !/^.+:\d+$/.test(options.address))
      throw fail(
        'address',
        `must be "host:port", got ${shown(options.address)}`,
        'For example "0.0.0.0:50051", or "127.0.0.1:0" for any free port.',
      );
    const check = optionChecks(fail);
    this.logger = options.logger ?? new Logger(OWNER);
    this.settings = {
      maxFetchWaitMs: check.int('maxFetchWaitMs', options.maxFetchWaitMs, 30_000, { min: 0, max: 600_000 }),
      maxMessageBytes: check.int('maxMessageBytes', options.maxMessageBytes, 64 * 1024 * 1024, {
        min: 1024 * 1024,
        max: 2 ** 31 - 1,
      }),
      shutdownGraceMs: check.int('shutdownGraceMs', options.shutdownGraceMs, 5_000, { min: 0 }),
    };
    const ownLeases =
      typeof store.extendLeases === 'function' && typeof store.leaseMs === 'number' && store.leaseMs > 0;
    if (ownLeases) {
      this.worker = store;
      this.leaseMs = store.leaseMs!;
    } else {
      this.keeper = new LeaseKeepingStore(
        store,
        check.int('leaseMs', options.leaseMs, 30_000, { min: 100 }),
        check.int('maxAttempts', options.maxAttempts, 3, { min: 1 }),
        this.logger,
      );
      this.worker = this.keeper;
      this.leaseMs = this.keeper.leaseMs;
    }
    this.features = storeFeatures(store);
    this.runtime = taskServiceRuntime();
    this.fetches = new FetchCoordinator(this.worker, (tasks) => this.release(tasks));
    this.watchers = new WatchBroadcaster(this.leaseMs);
    this.auth = new CallAuthenticator(options.authenticate, options.token, this.logger);
  }

  /** The port listened on (the one picked, for port 0); undefined before `start()`. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** Starts listening; resolves with the port. */
  start(): Promise<number> {
    this.starting ??= this.listen();
    return this.starting;
  }

  onApplicationBootstrap(): Promise<void> {
    return this.start().then(() => undefined);
  }

  /**
   * Stops: waiting fetches are answered with nothing, watch streams end,
   * calls in progress get `shutdownGraceMs` to finish (outcomes reach the
   * store), then the rest are cut. The store stays open (its owner closes it).
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Before the store's own shutdown (onApplicationShutdown): outcomes in flight still reach it. */
  beforeApplicationShutdown(): Promise<void> {
    return this.close();
  }

  private async listen(): Promise<number> {
    const { grpc } = this.runtime;
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.settings.maxMessageBytes,
      'grpc.max_send_message_length': this.settings.maxMessageBytes,
      // Workers ping idle connections to notice a dead server; accept their pace.
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 1_000,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    });
    server.addService(
      this.runtime.service,
      taskServiceHandlers({
        worker: this.worker,
        store: this.options.store,
        leaseMs: this.leaseMs,
        fetches: this.fetches,
        // Every extension in one call, unbounded: a split would extend some leases a call later.
        extensions: new StoreCallBatcher((tasks) => this.worker.extendLeases!(tasks), Infinity),
        outcomes: new StoreCallBatcher((outcomes) => this.worker.publish(outcomes)),
        startMarks: new StoreCallBatcher(async (tasks) => this.worker.markStarted?.(tasks)),
        progress: new StoreCallBatcher((updates) => this.worker.reportProgress!(updates)),
        features: this.features,
        storeName: storeName(this.options.store),
        watchers: this.watchers,
        auth: this.auth,
        maxFetchWaitMs: this.settings.maxFetchWaitMs,
        maxMessageBytes: this.settings.maxMessageBytes,
        logger: this.logger,
        status: grpc.status,
        Metadata: grpc.Metadata,
        register: (tasks) => this.register(tasks),
        wake: () => this.wake(),
        release: (tasks) => this.release(tasks),
        cancelled: (ids) => this.cancelled(ids),
      }),
    );
    const { tls } = this.options;
    const credentials = tls
      ? grpc.ServerCredentials.createSsl(
          tls.ca === undefined ? null : Buffer.from(tls.ca),
          [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
          tls.requireClientCertificate === true,
        )
      : grpc.ServerCredentials.createInsecure();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(this.options.address, credentials, (error, bound) =>
        error ? reject(new Error(Messages.grpcListenFailed(this.options.address, error.message))) : resolve(bound),
      ),
    );
    this.server = server;
    this.boundPort = port;
    this.unwatch = this.worker.watch?.(() => this.wake());
    // Cancels made anywhere (this app, another process on the same store):
    // their holders may be remote workers, told over the Watch streams.
    if (this.features.includes('watchCancels'))
      this.unwatchCancels = this.worker.watchCancels!((ids) => this.cancelled(ids));
    this.logger.log(
      `Serving tasks over gRPC on ${this.options.address.replace(/:\d+$/, `:${port}`)} (${tls ? 'TLS' : 'plaintext'}, ${
        this.auth.enabled ? 'authenticated' : 'no authentication'
      }, lease ${this.leaseMs} ms${this.keeper ? ' kept by the server' : ' kept by the store'}).`,
    );
    return port;
  }

  private async shutdown(): Promise<void> {
    await this.starting?.catch(() => undefined);
    this.unwatch?.();
    this.unwatchCancels?.();
    this.fetches.close();
    this.watchers.close();
    const server = this.server;
    if (server) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.settings.shutdownGraceMs))),
      ]);
      clearTimeout(timer);
      server.forceShutdown();
    }
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.keeper?.close();
  }

  /** Every worker's @Task() policies, merged by name (a later registration of a name wins), handed to the store. */
  private register(tasks: readonly RegisteredTask[]): void {
    const before = new Map(this.registrations);
    let changed = false;
    for (const task of tasks) {
      const known = this.registrations.get(task.name);
      if (known && JSON.stringify(known) === JSON.stringify(task)) continue;
      this.registrations.set(task.name, task);
      changed = true;
    }
    if (!changed) return;
    try {
      this.worker.registerTasks?.([...this.registrations.values()]);
    } catch (error) {
      this.registrations.clear();
      for (const [name, task] of before) this.registrations.set(name, task);
      throw error;
    }
  }

  /** Tasks cancelled while they may be running on a remote worker: the lease keeper stops extending them, every worker is told. */
  private cancelled(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.keeper?.cancelled(ids);
    this.watchers.cancelled(ids);
  }

  private wake(): void {
    this.fetches.wake();
    this.watchers.notify();
  }

  private release(tasks: readonly TaskEnvelope[]): void {
    const work = this.worker
      .publish(tasks.map((task) => ({ status: 'released' as const, task })))
      .then(() => this.wake())
      .catch((error: unknown) =>
        this.logger.warn(
          Messages.grpcStoreFailed('release', `${describeThrown(error)}; they come back once their lease runs out`),
        ),
      );
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }
}
