import type * as Grpc from '@grpc/grpc-js';
import { describeThrown } from '../../clients/kit/json.encoder.js';
import { Messages } from '../../errors/error-messages.js';
import { GrpcConnectError, GrpcConnectTimeoutError, GrpcUnauthenticatedError } from '../../errors/worker.errors.js';
import { permanentFailureMessage, readConnectionFailure, transientFailureFix } from './connection-failure.reader.js';
import type { GrpcChannel } from './grpc.channel.js';

/**
 * Longest wait between two tries while the channel cannot connect: grpc-js
 * keeps reporting TRANSIENT_FAILURE while it reconnects, so no state change
 * would tell that the error behind it changed (refused, then a certificate
 * once the server is up).
 */
const RECHECK_MS = 1000;

/**
 * The first call to the server: Hello, until it answers or `timeoutMs` has
 * passed. Made without waitForReady, so that a channel that cannot connect
 * fails the call at once with its last error, instead of the call waiting
 * out its deadline and saying only that it got no answer. A failure that
 * waiting cannot mend (a certificate, a server without TLS, refused
 * credentials) ends it at once; one that may (nothing listens yet) is tried
 * again each time the channel's state changes, and named when time is up.
 */
export async function callHello<T>(channel: GrpcChannel, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: string | undefined;
  let fix = Messages.grpcNotConnected();
  for (;;) {
    try {
      const left = Math.max(1, deadline - Date.now());
      return (await channel.unary<T>('Hello', {}, { timeoutMs: left, waitForReady: false })) as T;
    } catch (error) {
      if (error instanceof GrpcUnauthenticatedError) throw error;
      const cause = (error as { cause?: Grpc.ServiceError }).cause;
      const details = cause?.details || cause?.message || '';
      const timedOut = (reason: string) =>
        new GrpcConnectTimeoutError(channel.address, timeoutMs, reason, { cause: error });
      if (channel.isStatus(cause, 'UNAVAILABLE')) {
        const failure = readConnectionFailure(details);
        if (failure.permanent)
          throw new GrpcConnectError(channel.address, permanentFailureMessage(channel.address, failure), {
            cause: error,
          });
        lastError = failure.lastError;
        fix = transientFailureFix(failure.kind);
        if (Date.now() >= deadline) throw timedOut(Messages.grpcConnectUnreached(lastError, fix));
        await channel.stateChange(Math.min(deadline, Date.now() + RECHECK_MS));
        continue;
      }
      if (channel.isStatus(cause, 'DEADLINE_EXCEEDED')) {
        if (channel.connected) throw timedOut(Messages.grpcConnectSlow(details, timeoutMs));
        // Still connecting when time ran out: a host that swallows the connection says nothing at all.
        throw timedOut(
          Messages.grpcConnectUnreached(
            lastError ?? 'no answer to the connection attempt',
            lastError ? fix : Messages.grpcHostSilent(),
          ),
        );
      }
      throw timedOut(describeThrown(error, 600));
    }
  }
}
