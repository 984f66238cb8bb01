import { Injectable } from '@nestjs/common';
import { Task } from 'nestjs-worker';
import { base64, int, object, oneOf, optional, payloadSchema, string, type Infer } from '../common/schema.js';
import { HashingService } from './hashing.service.js';

const PasswordHashPayload = object({
  password: string({ min: 1, max: 1024 }),
  /** log2 of scrypt's N: 15 takes ~100 ms and 32 MiB, each step doubles both. */
  cost: optional(int({ min: 14, max: 18 }), 15),
});
const PasswordVerifyPayload = object({ password: string({ min: 1, max: 1024 }), hash: string({ min: 1, max: 512 }) });
const DeriveKeyPayload = object({
  secret: string({ min: 1, max: 1024 }),
  salt: string({ min: 8, max: 256 }),
  /**
   * 600 000 is OWASP's 2023 advice for PBKDF2-SHA256; every million is ~0.3 s
   * of one core. Bounded here, because a time limit cannot stop it (below).
   */
  iterations: optional(int({ min: 1, max: 10_000_000 }), 600_000),
  keyLength: optional(int({ min: 16, max: 64 }), 32),
  digest: optional(oneOf(['sha256', 'sha512']), 'sha256'),
});
const FileHashPayload = object({
  /** The file, in base64. */
  data: base64({ maxBytes: 16 * 1024 * 1024 }),
  algorithm: optional(oneOf(['sha256', 'sha512']), 'sha256'),
});

export const passwordHashSchema = payloadSchema(PasswordHashPayload);
export const passwordVerifySchema = payloadSchema(PasswordVerifyPayload);
export const deriveKeySchema = payloadSchema(DeriveKeyPayload);
export const fileHashSchema = payloadSchema(FileHashPayload);

/** Hashing: slow on purpose (passwords, keys) or slow because the input is big (files). */
@Injectable()
export class HashingTasks {
  constructor(private readonly hashing: HashingService) {}

  @Task('password.hash', { schema: passwordHashSchema, timeoutMs: 10_000 })
  hashPassword(input: Infer<typeof PasswordHashPayload>): { hash: string; ms: number } {
    const started = performance.now();
    const hash = this.hashing.hashPassword(input.password, input.cost);
    return { hash, ms: Math.round(performance.now() - started) };
  }

  @Task('password.verify', { schema: passwordVerifySchema, timeoutMs: 10_000 })
  verifyPassword(input: Infer<typeof PasswordVerifyPayload>): { valid: boolean; ms: number } {
    const started = performance.now();
    const valid = this.hashing.verifyPassword(input.password, input.hash);
    return { valid, ms: Math.round(performance.now() - started) };
  }

  // Deterministic work that ran out of time would run out of time again: one
  // attempt. The 10 s limit answers the caller on time, but pbkdf2Sync is
  // native code: stopping its thread takes effect only when the call returns,
  // so the old thread keeps its core busy until then (while a fresh one takes
  // over). For native calls, bound the work in the schema (iterations above);
  // timeouts cut JavaScript loops short, like the report's.
  @Task('kdf.derive', { schema: deriveKeySchema, timeoutMs: 10_000, maxAttempts: 1 })
  deriveKey(input: Infer<typeof DeriveKeyPayload>): { key: string; iterations: number; digest: string; ms: number } {
    const started = performance.now();
    const key = this.hashing.deriveKey(input.secret, input.salt, input.iterations, input.keyLength, input.digest);
    return {
      key: key.toString('hex'),
      iterations: input.iterations,
      digest: input.digest,
      ms: Math.round(performance.now() - started),
    };
  }

  @Task('file.hash', { schema: fileHashSchema, timeoutMs: 10_000 })
  hashFile(input: Infer<typeof FileHashPayload>): { algorithm: string; bytes: number; digest: string; ms: number } {
    const started = performance.now();
    const data = Buffer.from(input.data, 'base64');
    const digest = this.hashing.digest(data, input.algorithm);
    return { algorithm: input.algorithm, bytes: data.length, digest, ms: Math.round(performance.now() - started) };
  }
}
