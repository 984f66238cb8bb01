/**
 * Our durable clients, from their own entry points (`nestjs-worker/postgres`,
 * `nestjs-worker/redis`), made the same way for the drain and idle subjects.
 * An entry point that is missing or fails to load skips the subject instead
 * of failing the run.
 */
import { Skip } from './subject.mjs';

const entries = {
  postgres: { specifier: 'nestjs-worker/postgres', name: 'PostgresTaskClient' },
  redis: { specifier: 'nestjs-worker/redis', name: 'RedisTaskClient' },
};

export async function durableClientClass(backend) {
  const entry = entries[backend];
  if (!entry) throw new Error(`unknown backend ${backend}`);
  let module;
  try {
    module = await import(entry.specifier);
  } catch (error) {
    throw new Skip(`${entry.specifier} does not load: ${error.message.split('\n')[0]}`);
  }
  if (typeof module[entry.name] !== 'function') throw new Skip(`${entry.specifier} exports no ${entry.name}`);
  return module[entry.name];
}

/**
 * A client on `queue`, its schema migrated (PostgreSQL: `schema`, default
 * the client's own); Redis keys live under a bench-only prefix.
 */
export async function createDurableClient(backend, url, queue, { schema } = {}) {
  const Client = await durableClientClass(backend);
  const client =
    backend === 'postgres'
      ? new Client({ connectionString: url, queue, ...(schema ? { schema } : {}) })
      : new Client({ url, queue, prefix: 'nw-bench' });
  if (typeof client.migrate === 'function') await client.migrate();
  return client;
}

/** One statement on its own connection (drop a round's schema, refresh statistics): never timed. */
export async function adminQuery(url, sql) {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
