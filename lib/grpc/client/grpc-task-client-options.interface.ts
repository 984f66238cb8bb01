import type { LoggerService } from '@nestjs/common';

/** Injection token of `GrpcTaskClient`'s options, for `WorkerModule.forRoot({ client: GrpcTaskClient })` with a provider of its own. */
export const GRPC_TASK_CLIENT_OPTIONS = 'nestjs-worker:grpc-task-client-options';

/** TLS towards a server with a certificate: PEM text or bytes. */
export interface GrpcClientTls {
  /** CA certificate(s) that signed the server's certificate (a self-signed one: the certificate itself). @default the system's roots */
  ca?: string | Buffer;
  /** Client certificate and key, for a server that asks for one (mutual TLS). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Name the server's certificate must carry when it differs from the URL's host. */
  serverName?: string;
}

export interface GrpcTaskClientOptions {
  /**
   * The task server: `grpc://host:port` (plaintext), `grpcs://host:port`
   * (TLS; also when `tls` is given), or `host:port`.
   */
  url: string;
  /** Sent as `authorization: Bearer <token>` with every call; a function is asked before each call (rotating tokens). */
  token?: string | (() => string | Promise<string>);
  tls?: GrpcClientTls;
  /** Deadline of one call (a fetch gets its long-poll on top), in ms. @default 10000 */
  callTimeoutMs?: number;
  /** How long the server may hold a fetch while no task is ready (long-poll), in ms. @default 5000 */
  fetchWaitMs?: number;
  /** How long `connect()` / `onModuleInit()` wait for the server to answer, in ms. @default 30000 */
  connectTimeoutMs?: number;
  /** Keepalive ping interval on an idle connection, so a dead server or a dropped link is noticed, in ms. @default 15000 */
  keepaliveMs?: number;
  /** Largest message sent or taken, in bytes (a fetched batch with its payloads, a published batch with its results). @default 67108864 */
  maxMessageBytes?: number;
  logger?: LoggerService;
}
