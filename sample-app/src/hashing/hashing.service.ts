import { Injectable } from '@nestjs/common';
import { createHash, pbkdf2Sync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { UnprocessableInputError } from '../common/errors.js';

const SCRYPT_BLOCK_SIZE = 8;
const SCRYPT_PARALLELISM = 1;
const KEY_LENGTH = 32;

/**
 * Password hashing, key derivation and file digests with node:crypto. The
 * *Sync functions are used on purpose: they burn CPU in the calling thread,
 * and the calling thread is a worker thread, not the event loop.
 */
@Injectable()
export class HashingService {
  /** scrypt with a random salt, in the PHC string format: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`. */
  hashPassword(password: string, cost: number): string {
    const salt = randomBytes(16);
    const key = this.scrypt(password, salt, cost, SCRYPT_BLOCK_SIZE, SCRYPT_PARALLELISM, KEY_LENGTH);
    return `$scrypt$ln=${cost},r=${SCRYPT_BLOCK_SIZE},p=${SCRYPT_PARALLELISM}$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }

  verifyPassword(password: string, phc: string): boolean {
    const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(phc);
    if (!match)
      throw new UnprocessableInputError(
        'The hash is not in the format this service writes ($scrypt$ln=..,r=..,p=..$salt$hash).',
      );
    const [, ln, r, p, salt, hash] = match;
    const cost = Number(ln);
    if (cost < 10 || cost > 20)
      throw new UnprocessableInputError(`The hash's scrypt cost ln=${cost} is outside 10..20.`);
    const expected = Buffer.from(hash!, 'base64url');
    const actual = this.scrypt(password, Buffer.from(salt!, 'base64url'), cost, Number(r), Number(p), expected.length);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  /** PBKDF2, e.g. to derive an encryption key from a passphrase. */
  deriveKey(secret: string, salt: string, iterations: number, keyLength: number, digest: 'sha256' | 'sha512'): Buffer {
    return pbkdf2Sync(secret, salt, iterations, keyLength, digest);
  }

  digest(data: Buffer, algorithm: 'sha256' | 'sha512'): string {
    return createHash(algorithm).update(data).digest('hex');
  }

  private scrypt(
    password: string,
    salt: Buffer,
    cost: number,
    blockSize: number,
    parallelism: number,
    keyLength: number,
  ): Buffer {
    const N = 2 ** cost;
    // scrypt needs 128 * N * r bytes; Node refuses more than 32 MiB unless told.
    const maxmem = 256 * N * blockSize * parallelism + 1024 * 1024;
    return scryptSync(password, salt, keyLength, { N, r: blockSize, p: parallelism, maxmem });
  }
}
