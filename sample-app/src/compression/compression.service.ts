import { Injectable } from '@nestjs/common';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export type Algorithm = 'brotli' | 'gzip';

/**
 * zlib's *Sync functions: the async ones run on libuv's small thread pool
 * (4 threads, shared with fs and dns); these run in the worker thread itself.
 */
@Injectable()
export class CompressionService {
  compress(input: Buffer, algorithm: Algorithm, level: number): Buffer {
    if (algorithm === 'gzip') return gzipSync(input, { level });
    return brotliCompressSync(input, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: level,
        [constants.BROTLI_PARAM_SIZE_HINT]: input.length,
      },
    });
  }
}
