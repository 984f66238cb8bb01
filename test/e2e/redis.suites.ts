/**
 * The Redis spec files of a build, for the passes that run all of them once
 * more in another setting (redis.pass-*.e2e-spec: ioredis 6, Valkey). Found
 * by name, so a new Redis suite (the conformance suite's included) is never
 * left out; the passes themselves are.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const testDir = fileURLToPath(new URL('..', import.meta.url));

export function redisSpecs(dir = testDir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : redisSpecs(path);
      return /redis.*\.e2e-spec\.js$/.test(entry.name) && !entry.name.startsWith('redis.pass-') ? [path] : [];
    })
    .sort();
}
