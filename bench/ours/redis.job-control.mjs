/** Job control at the client on Redis (see bench/ours/job-control.drain.mjs): a fresh queue per round. */
import { createDurableClient } from '../lib/clients.mjs';
import { jobControlDrain } from './job-control.drain.mjs';

const queueOf = (round) => `bench-jc-${process.pid}-${round}`;

jobControlDrain({
  open: (url, round) => createDurableClient('redis', url, queueOf(round)),
  // A Redis fetch waits for tasks until its signal aborts: the other drainer may hold the last ones.
  fetch: (client) => client.fetch(500, AbortSignal.timeout(250)),
  dispose: async (client, url, round) => {
    const keys = await client.redis.keys(`nw-bench:${queueOf(round)}:*`);
    for (let i = 0; i < keys.length; i += 1000) await client.redis.unlink(...keys.slice(i, i + 1000));
    await client.close();
  },
});
