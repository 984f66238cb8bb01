/** Job control at the client on PostgreSQL (see bench/ours/job-control.drain.mjs): a fresh schema per round. */
import { setTimeout as sleep } from 'node:timers/promises';
import { adminQuery, createDurableClient } from '../lib/clients.mjs';
import { jobControlDrain } from './job-control.drain.mjs';

const never = new AbortController().signal;

const schemaOf = (round) => `bench_jc_${process.pid}_${round}`;

jobControlDrain({
  open: (url, round) => createDurableClient('postgres', url, schemaOf(round), { schema: schemaOf(round) }),
  // A PostgreSQL fetch answers at once, empty or not: a short pause before asking again.
  fetch: async (client) => {
    const tasks = await client.fetch(500, never);
    if (tasks.length === 0) await sleep(5);
    return tasks;
  },
  dispose: async (client, url, round) => {
    await client.close();
    await adminQuery(url, `DROP SCHEMA IF EXISTS ${schemaOf(round)} CASCADE`);
  },
});
