import type * as Grpc from '@grpc/grpc-js';
import { RECONNECT_BACKOFF } from '../../clients/kit/reconnect.backoff.js';
import { Messages } from '../../errors/error-messages.js';
import { GrpcTaskServerError, GrpcUnauthenticatedError } from '../../errors/worker.errors.js';
import { taskServiceRuntime, type TaskServiceRuntime } from '../proto/task-service.loader.js';
import type { ResolvedGrpcClientOptions } from './grpc-task-client-options.resolver.js';

type UnaryMethod = (
  request: unknown,
  metadata: Grpc.Metadata,
  options: Grpc.CallOptions,
  callback: (error: Grpc.ServiceError | null, reply: unknown) => void,
) => Grpc.ClientUnaryCall;
type StreamMethod = (
  request: unknown,
  metadata: Grpc.Metadata,
  options?: Grpc.CallOptions,
) => Grpc.ClientReadableStream<unknown>;

/** Hint of an UNIMPLEMENTED call: an older server, or a store without the method (the details name it). */
const UNIMPLEMENTED_HINT =
  'The server does not offer this call: its store lacks the method (the details name the store), or the server runs an older nestjs-worker than this worker; upgrade it.';

/** Outcome of a call cancelled by its caller's signal. */
export const CANCELLED = Symbol('cancelled');

/**
 * One HTTP/2 channel to the task server, and the calls over it: deadlines,
 * the token in metadata, cancellation by an AbortSignal, and errors that
 * name the server and what to do. grpc-js reconnects the channel by itself;
 * its backoff is ours (RECONNECT_BACKOFF), so that a fleet of workers that
 * lost a restarting server does not knock again all in the same instant.
 */
export class GrpcChannel {
  private readonly runtime: TaskServiceRuntime;
  private readonly client: Grpc.Client;
  private readonly statusNames: Record<number, string>;

  constructor(private readonly options: ResolvedGrpcClientOptions) {
    this.runtime = taskServiceRuntime();
    const { grpc } = this.runtime;
    const { tls } = options;
    const credentials = options.secure
      ? grpc.credentials.createSsl(
          tls.ca === undefined ? null : Buffer.from(tls.ca),
          tls.key === undefined ? null : Buffer.from(tls.key),
          tls.cert === undefined ? null : Buffer.from(tls.cert),
        )
      : grpc.credentials.createInsecure();
    this.client = new this.runtime.Client(options.target, credentials, {
      'grpc.keepalive_time_ms': options.keepaliveMs,
      'grpc.keepalive_timeout_ms': Math.max(1000, Math.floor(options.keepaliveMs / 2)),
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF.initialMs,
      'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF.maxMs,
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      ...(tls.serverName
        ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName }
        : {}),
    });
    this.statusNames = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));
  }

  get address(): string {
    return this.options.address;
  }

  /**
   * One unary call. Resolves with the reply, or with CANCELLED when `signal`
   * aborted it. Once the server has sent its headers (a fetch does when
   * tasks are assigned to it), an abort no longer cancels: the reply is
   * already on its way, and its tasks must reach the caller rather than go
   * missing until their lease runs out.
   */
  async unary<T>(
    method: string,
    request: unknown,
    {
      timeoutMs = this.options.callTimeoutMs,
      signal,
      waitForReady = true,
    }: { timeoutMs?: number; signal?: AbortSignal; waitForReady?: boolean } = {},
  ): Promise<T | typeof CANCELLED> {
    const metadata = await this.metadata(waitForReady);
    if (signal?.aborted) return CANCELLED;
    return new Promise((resolve, reject) => {
      const fn = (this.client as unknown as Record<string, UnaryMethod>)[method]!.bind(this.client);
      const call = fn(request, metadata, { deadline: Date.now() + timeoutMs }, (error, reply) => {
        signal?.removeEventListener('abort', cancel);
        if (!error) return resolve(reply as T);
        if (error.code === this.runtime.grpc.status.CANCELLED && signal?.aborted) return resolve(CANCELLED);
        reject(this.error(method, error, timeoutMs));
      });
      let answering = false;
      call.on('metadata', () => (answering = true));
      const cancel = () => {
        if (!answering) call.cancel();
      };
      signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** A server stream; its errors are turned into ours by `error()`. */
  async stream<T>(method: string, request: unknown): Promise<Grpc.ClientReadableStream<T>> {
    const metadata = await this.metadata();
    const fn = (this.client as unknown as Record<string, StreamMethod>)[method]!.bind(this.client);
    return fn(request, metadata) as Grpc.ClientReadableStream<T>;
  }

  /** The error of a failed call, naming the server, the call and what to do. */
  error(method: string, error: Grpc.ServiceError, timeoutMs = this.options.callTimeoutMs): Error {
    const { status } = this.runtime.grpc;
    const details = error.details || error.message;
    if (error.code === status.UNAUTHENTICATED)
      return new GrpcUnauthenticatedError(this.options.address, details, { cause: error });
    // The store refused the task itself (a payload or option it cannot take): the producer's mistake, as with a local store.
    if (error.code === status.INVALID_ARGUMENT) return new TypeError(details, { cause: error });
    const name = this.statusNames[error.code] ?? String(error.code);
    const hint =
      error.code === status.UNAVAILABLE
        ? Messages.grpcUnavailableHint()
        : error.code === status.DEADLINE_EXCEEDED
          ? Messages.grpcDeadlineHint(timeoutMs)
          : error.code === status.UNIMPLEMENTED
            ? UNIMPLEMENTED_HINT
            : Messages.grpcServerHint();
    return new GrpcTaskServerError(
      this.options.address,
      method,
      name,
      Messages.grpcCallFailed(this.options.address, method, name, details, hint),
      { cause: error },
    );
  }

  isStatus(error: unknown, name: keyof typeof Grpc.status): boolean {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as { code?: unknown }).code === this.runtime.grpc.status[name]
    );
  }

  /** Whether the channel holds a connection now; an idle channel is asked to make one. */
  get connected(): boolean {
    return this.client.getChannel().getConnectivityState(true) === this.runtime.grpc.connectivityState.READY;
  }

  /** Resolves once the channel's connectivity changes, or at `deadline` (epoch ms), or at once when closed. */
  stateChange(deadline: number): Promise<void> {
    const channel = this.client.getChannel();
    return new Promise((resolve) => {
      try {
        channel.watchConnectivityState(channel.getConnectivityState(true), deadline, () => resolve());
      } catch {
        resolve();
      }
    });
  }

  close(): void {
    this.client.close();
  }

  /**
   * By default calls wait for the channel to be ready (up to their deadline)
   * rather than fail while it reconnects; without, a call fails at once while
   * the channel cannot connect, and its details carry the connection's last error.
   */
  private async metadata(waitForReady = true): Promise<Grpc.Metadata> {
    const metadata = new this.runtime.grpc.Metadata({ waitForReady });
    const { token } = this.options;
    const value = typeof token === 'function' ? await token() : token;
    if (value) metadata.set('authorization', `Bearer ${value}`);
    return metadata;
  }
}
