/**
 * Every Redis suite once more, on Valkey (the open-source fork of Redis
 * 7.2): a valkey-server of its own, which the suites reach through
 * REDIS_URL, and which the suites that start servers of their own start too
 * (REDIS_SERVER_BIN). Skipped, saying why, where valkey-server is not
 * installed; .ci/run installs it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis } from '../support/services.js';
import { redisSpecs } from './redis.suites.js';

const BINARY = 'valkey-server';
const installed = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
const version = installed.status === 0 ? /v=(\S+)/.exec(installed.stdout)?.[1] : undefined;

if (!version) {
  describe(
    'on Valkey',
    { skip: `${BINARY} is not installed (Debian: apt-get install -t bookworm-backports valkey-server)` },
    () => {},
  );
} else {
  describe(`on Valkey ${version}`, async () => {
    const server = await startRedis({ binary: BINARY });
    after(() => server.dispose());
    // Set before the suites load: their helpers read REDIS_URL once, at import.
    process.env.REDIS_URL = server.url;
    process.env.REDIS_SERVER_BIN = BINARY;

    it('runs the suites on a Valkey server', async () => {
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        assert.match(String(await redis.info('server')), /server_name:valkey/);
      } finally {
        redis.disconnect();
      }
    });
    for (const file of redisSpecs()) await import(file);
  });
}
