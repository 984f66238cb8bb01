/** The sample app on PostgreSQL (TASKS_URL=postgres://...): a SIGTERM loses nothing, a restart finishes the work. */
import pg from 'pg';
import { durableRestartSuite } from '../fixtures/sample-app/durable-restart.js';

const serverUrl = process.env.PG_URL;
const database = `sample_app_e2e_${process.pid}_${Date.now()}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

durableRestartSuite(
  {
    name: 'postgres',
    async prepare() {
      await admin(`CREATE DATABASE ${database}`);
      const url = new URL(serverUrl!);
      url.pathname = `/${database}`;
      return url.href;
    },
    async cleanup() {
      await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  },
  serverUrl,
);
