import { Logger, type LoggerService } from '@nestjs/common';
import { optionChecks, shown } from '../../common/option-checks.js';
import { InvalidGrpcOptionsError } from '../../errors/worker.errors.js';
import type { GrpcClientTls, GrpcTaskClientOptions } from './grpc-task-client-options.interface.js';

export interface ResolvedGrpcClientOptions {
  /** host:port for grpc-js. */
  target: string;
  /** The server as errors and logs name it: grpc(s)://host:port. */
  address: string;
  secure: boolean;
  tls: GrpcClientTls;
  token?: GrpcTaskClientOptions['token'];
  callTimeoutMs: number;
  fetchWaitMs: number;
  connectTimeoutMs: number;
  keepaliveMs: number;
  maxMessageBytes: number;
  logger: LoggerService;
}

const OWNER = 'GrpcTaskClient';
const fail = (path: string, problem: string, fix: string) => new InvalidGrpcOptionsError(OWNER, path, problem, fix);
const URL_FIX =
  'Use grpc://host:port for a server without TLS, grpcs://host:port for one with TLS (for example grpc://127.0.0.1:50051).';

/** Splits the server URL into what grpc-js dials and whether it speaks TLS. */
export function parseServerUrl(url: unknown, tlsGiven: boolean): { target: string; address: string; secure: boolean } {
  if (typeof url !== 'string' || url.trim() === '')
    throw fail('url', `must be a non-empty string, got ${shown(url)}`, URL_FIX);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `grpc://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw fail('url', `is not a URL (${shown(url)})`, URL_FIX);
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'grpc' && scheme !== 'grpcs')
    throw fail('url', `has the scheme "${scheme}", not grpc or grpcs`, URL_FIX);
  if (!parsed.hostname || !parsed.port) throw fail('url', `needs a host and a port (${shown(url)})`, URL_FIX);
  if ((parsed.pathname && parsed.pathname !== '/') || parsed.username || parsed.password || parsed.search)
    throw fail('url', `must be only scheme, host and port (${shown(url)})`, `${URL_FIX} Pass the token as "token".`);
  const secure = scheme === 'grpcs' || tlsGiven;
  const target = `${parsed.hostname}:${parsed.port}`;
  return { target, address: `${secure ? 'grpcs' : 'grpc'}://${target}`, secure };
}

export function resolveGrpcClientOptions(options: GrpcTaskClientOptions | undefined): ResolvedGrpcClientOptions {
  if (options === null || typeof options !== 'object')
    throw fail('url', 'is missing: the options object was not given', URL_FIX);
  const check = optionChecks(fail);
  const { target, address, secure } = parseServerUrl(options.url, options.tls !== undefined);
  if (options.token !== undefined && typeof options.token !== 'string' && typeof options.token !== 'function')
    throw fail(
      'token',
      `must be a string or a function returning one, got ${shown(typeof options.token)}`,
      'Pass the token the server accepts.',
    );
  return {
    target,
    address,
    secure,
    tls: options.tls ?? {},
    token: options.token,
    callTimeoutMs: check.int('callTimeoutMs', options.callTimeoutMs, 10_000, { min: 100 }),
    fetchWaitMs: check.int('fetchWaitMs', options.fetchWaitMs, 5_000, { min: 0, max: 60_000 }),
    connectTimeoutMs: check.int('connectTimeoutMs', options.connectTimeoutMs, 30_000, { min: 100 }),
    keepaliveMs: check.int('keepaliveMs', options.keepaliveMs, 15_000, { min: 1_000 }),
    maxMessageBytes: check.int('maxMessageBytes', options.maxMessageBytes, 64 * 1024 * 1024, {
      min: 1024 * 1024,
      max: 2 ** 31 - 1,
    }),
    logger: options.logger ?? new Logger(OWNER),
  };
}
