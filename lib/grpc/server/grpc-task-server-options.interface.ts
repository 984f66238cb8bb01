import type { LoggerService } from '@nestjs/common';
import type { TaskClient } from '../../interfaces/task-client.interface.js';
import type { TaskStore } from '../../interfaces/task-store.interface.js';

/** Injection token of `GrpcTaskServer`'s options (what `GrpcTaskServerModule.forRoot()` provides). */
export const GRPC_TASK_SERVER_OPTIONS = 'nestjs-worker:grpc-task-server-options';

/** Who is calling, as the `authenticate` hook sees it. */
export interface GrpcCallIdentity {
  /** The bearer token of the `authorization` metadata ("Bearer <token>"); undefined when none was sent. */
  readonly token: string | undefined;
  /** The service method called: Fetch, Publish, Enqueue, ... */
  readonly method: string;
  /** The caller's address as grpc-js reports it. */
  readonly peer: string;
  /** Every text metadata entry (first value of each key). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Says whether a call may go on: false (or a throw) refuses it with UNAUTHENTICATED. */
export type GrpcAuthenticate = (call: GrpcCallIdentity) => boolean | Promise<boolean>;

/** TLS of the server: its certificate and key as PEM text or bytes. */
export interface GrpcServerTls {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA that signs client certificates; with `requireClientCertificate`, mutual TLS. */
  ca?: string | Buffer;
  /** @default false */
  requireClientCertificate?: boolean;
}

export interface GrpcTaskServerOptions {
  /**
   * The task store remote workers pull from: an `InMemoryTaskClient`,
   * `PostgresTaskClient`, `RedisTaskClient` instance, or any client with
   * both sides (`TaskClient & TaskStore`). The server does not close it.
   */
  store: TaskClient & TaskStore;
  /** Where to listen: `host:port` (`0.0.0.0:50051`, `127.0.0.1:0` for any free port). */
  address: string;
  /** TLS; without it the server speaks plaintext (keep it on a private network or loopback). */
  tls?: GrpcServerTls;
  /** Decides every call. Without it (and without `token`) every caller is accepted. */
  authenticate?: GrpcAuthenticate;
  /** Shortcut for `authenticate`: accept exactly this bearer token. */
  token?: string;
  /**
   * Lease of a delivery for a store without leases of its own (the
   * in-memory client): the server keeps those leases itself, so the tasks
   * of a remote worker that died come back. A store with leases (PostgreSQL,
   * Redis) keeps its own `leaseMs`. @default 30000
   */
  leaseMs?: number;
  /** Attempts of a task whose lease runs out, when neither the task nor a worker's @Task() says (store without leases only). @default 3 */
  maxAttempts?: number;
  /** Longest a fetch may wait for tasks (a worker's long-poll is cut to this), in ms. @default 30000 */
  maxFetchWaitMs?: number;
  /** Largest message taken or sent, in bytes. @default 67108864 */
  maxMessageBytes?: number;
  /** How long `close()` lets calls in progress finish before cutting them, in ms. @default 5000 */
  shutdownGraceMs?: number;
  logger?: LoggerService;
}
