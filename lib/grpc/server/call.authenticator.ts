import type { LoggerService } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type * as Grpc from '@grpc/grpc-js';
import { describeThrown } from '../../clients/kit/json.encoder.js';
import { WarningThrottle } from '../../common/warning.throttle.js';
import { Messages } from '../../errors/error-messages.js';
import type { GrpcAuthenticate, GrpcCallIdentity } from './grpc-task-server-options.interface.js';

type SurfaceCall = Pick<Grpc.ServerUnaryCall<unknown, unknown>, 'metadata' | 'getPeer'>;

/**
 * Decides each call from its metadata: the `authenticate` hook, or the one
 * `token` the server was given, or nobody (every call goes on).
 */
export class CallAuthenticator {
  /** Refusals are warned of at most every 30 s: a misconfigured fleet retries all the time. */
  private readonly refusals = new WarningThrottle();
  private readonly check?: GrpcAuthenticate;

  constructor(
    authenticate: GrpcAuthenticate | undefined,
    token: string | undefined,
    private readonly logger: LoggerService,
  ) {
    this.check = authenticate ?? (token === undefined ? undefined : sameToken(token));
  }

  get enabled(): boolean {
    return this.check !== undefined;
  }

  async allows(call: SurfaceCall, method: string): Promise<boolean> {
    if (!this.check) return true;
    const identity = identityOf(call, method);
    let allowed = false;
    try {
      allowed = (await this.check(identity)) === true;
    } catch (error) {
      this.logger.error(Messages.grpcAuthenticateThrew(describeThrown(error)));
    }
    if (!allowed && this.refusals.due()) this.logger.warn(Messages.grpcRefused(identity.peer, method));
    return allowed;
  }
}

function identityOf(call: SurfaceCall, method: string): GrpcCallIdentity {
  const metadata: Record<string, string> = {};
  for (const [key, values] of Object.entries(call.metadata.getMap())) {
    if (typeof values === 'string') metadata[key] = values;
  }
  const header = metadata.authorization;
  const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header);
  return { token: match?.[1], method, peer: call.getPeer(), metadata };
}

function sameToken(expected: string): GrpcAuthenticate {
  const want = Buffer.from(expected, 'utf8');
  return ({ token }) => {
    if (token === undefined) return false;
    const got = Buffer.from(token, 'utf8');
    return got.length === want.length && timingSafeEqual(got, want);
  };
}
