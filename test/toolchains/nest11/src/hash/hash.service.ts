import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';

@Injectable()
export class HashService {
  sha256(text: string): string {
    return createHash('sha256').update(text).digest('hex');
  }
}
