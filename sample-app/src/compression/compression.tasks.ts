import { Injectable } from '@nestjs/common';
import { Task } from 'nestjs-worker';
import { base64, int, object, oneOf, optional, payloadSchema, string, type Infer } from '../common/schema.js';
import { CompressionService } from './compression.service.js';

const CompressPayload = object(
  {
    /** The upload, in base64 ... */
    data: optional(base64({ maxBytes: 16 * 1024 * 1024 })),
    /** ... or as text (UTF-8). */
    text: optional(string({ max: 16 * 1024 * 1024 })),
    algorithm: optional(oneOf(['brotli', 'gzip']), 'brotli'),
    /** gzip 1..9, brotli 0..11; the highest when left out. */
    level: optional(int({ min: 0, max: 11 })),
  },
  [
    (p) =>
      (p.data === undefined) === (p.text === undefined)
        ? 'must contain exactly one of "data" (base64) and "text"'
        : undefined,
    (p) =>
      p.algorithm === 'gzip' && p.level !== undefined && (p.level < 1 || p.level > 9)
        ? `level ${p.level} is out of gzip's range 1..9`
        : undefined,
  ],
);
export const compressSchema = payloadSchema(CompressPayload);

/** Compression of an upload with the highest settings: a few MB at brotli 11 take seconds. */
@Injectable()
export class CompressionTasks {
  constructor(private readonly compression: CompressionService) {}

  @Task('compress', { schema: compressSchema, timeoutMs: 30_000 })
  compress(input: Infer<typeof CompressPayload>) {
    const started = performance.now();
    const source = input.data !== undefined ? Buffer.from(input.data, 'base64') : Buffer.from(input.text!, 'utf8');
    const level = input.level ?? (input.algorithm === 'gzip' ? 9 : 11);
    const output = this.compression.compress(source, input.algorithm, level);
    return {
      algorithm: input.algorithm,
      level,
      inputBytes: source.length,
      outputBytes: output.length,
      ratio: source.length === 0 ? 0 : Number((output.length / source.length).toFixed(4)),
      data: output.toString('base64'),
      ms: Math.round(performance.now() - started),
    };
  }
}
