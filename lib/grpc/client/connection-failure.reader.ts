import { Messages } from '../../errors/error-messages.js';

/**
 * Why a channel could not connect, as far as the error grpc-js saw last
 * tells (it only keeps the text). Certificate and TLS failures are
 * permanent: the same settings meet the same server the same way, so
 * waiting out `connectTimeoutMs` would only hide the mistake. The others
 * (nothing listens yet, a name that does not resolve yet) may mend while the
 * client retries.
 */
export type ConnectionFailureKind =
  | 'untrusted-certificate'
  | 'certificate-name'
  | 'certificate-dates'
  | 'client-certificate-refused'
  | 'certificate'
  | 'server-without-tls'
  | 'nothing-listens'
  | 'unresolved'
  | 'no-answer'
  | 'other';

export interface ConnectionFailure {
  kind: ConnectionFailureKind;
  /** The connection's last error, without grpc-js's and OpenSSL's wrapping. */
  lastError: string;
  permanent: boolean;
}

/**
 * First match wins: a server's alert about our certificate also says
 * "certificate", and must not read as our rejecting the server's.
 */
const KINDS: readonly (readonly [ConnectionFailureKind, RegExp])[] = [
  ['client-certificate-refused', /\balert\b.*(certificate|unknown ca)/i],
  ['certificate-dates', /certificate has expired|certificate is not yet valid|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/i],
  ['certificate-name', /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i],
  [
    'untrusted-certificate',
    /self[- ]signed certificate|unable to verify|unable to get (local )?issuer certificate|SELF_SIGNED_CERT|UNABLE_TO_(VERIFY|GET_ISSUER)/i,
  ],
  ['certificate', /certificate|\bCERT_/i],
  ['server-without-tls', /wrong version number|packet length too long/i],
  ['nothing-listens', /ECONNREFUSED/],
  ['unresolved', /Name resolution failed|ENOTFOUND|EAI_AGAIN/],
  ['no-answer', /ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/],
];

const PERMANENT = new Set<ConnectionFailureKind>([
  'untrusted-certificate',
  'certificate-name',
  'certificate-dates',
  'client-certificate-refused',
  'certificate',
  'server-without-tls',
]);

/** Reads the details of an UNAVAILABLE call made without waitForReady. */
export function readConnectionFailure(details: string): ConnectionFailure {
  const lastError = unwrap(details);
  const kind = KINDS.find(([, pattern]) => pattern.test(details))?.[0] ?? 'other';
  return { kind, lastError, permanent: PERMANENT.has(kind) };
}

/** The whole message of a permanent failure. */
export function permanentFailureMessage(address: string, { kind, lastError }: ConnectionFailure): string {
  switch (kind) {
    case 'untrusted-certificate':
      return Messages.grpcCertificateUntrusted(address, lastError);
    case 'certificate-name':
      return Messages.grpcCertificateWrongName(address, lastError);
    case 'certificate-dates':
      return Messages.grpcCertificateDates(address, lastError);
    case 'client-certificate-refused':
      return Messages.grpcClientCertificateRefused(address, lastError);
    case 'server-without-tls':
      return Messages.grpcServerWithoutTls(address, lastError);
    default:
      return Messages.grpcCertificateRejected(address, lastError);
  }
}

/** What to do about a failure that may still mend, for the timeout's message. */
export function transientFailureFix(kind: ConnectionFailureKind): string {
  switch (kind) {
    case 'nothing-listens':
      return Messages.grpcNothingListens();
    case 'unresolved':
      return Messages.grpcHostUnresolved();
    case 'no-answer':
      return Messages.grpcHostSilent();
    default:
      return Messages.grpcNotConnected();
  }
}

/**
 * grpc-js says "No connection established. Last error: Error: <error>.
 * Resolution note: <note>", some errors with the time they happened;
 * OpenSSL's errors carry a code, the routine and
 * the source file around the few words that matter ("wrong version number").
 */
function unwrap(details: string): string {
  let text = details
    .replace(/^No connection established\. Last error: /, '')
    .replace(/\.\s*Resolution note:\s*$/, '')
    .replace(/^Error(?: \[[A-Z_]+\])?: /, '')
    .replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/, '');
  const ssl = /SSL routines:[^:]*:([^:]+)/.exec(text);
  if (ssl) text = ssl[1]!;
  return text.replace(/\s+/g, ' ').trim();
}
