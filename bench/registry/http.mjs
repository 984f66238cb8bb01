/**
 * End to end: a Nest HTTP app whose heavy endpoint needs ~50 ms of CPU per
 * request, loaded by closed-loop heavy clients while a light endpoint is
 * called at a fixed rate. Ours offloads the work to worker threads; the
 * peers do it inline on the event loop, or hand it to a BullMQ sandboxed
 * processor (worker threads too) and await the job. Two figures per subject:
 * heavy requests per second, and the light endpoint's p99 under that load.
 */
import { figure, latency } from './define.mjs';
import { iterations } from './shared.mjs';

const load = (ctx) => ({
  heavyIterations: iterations(ctx, 50),
  heavyClients: 4,
  lightRate: 50,
  workers: 2,
  durationMs: ctx.size(8000, 2000),
  warmupMs: ctx.size(3000, 1000),
});

const subject = (program, label, extra = {}, ours = false) => ({
  label,
  program,
  ours,
  after: ['calibrate'],
  metric: figure('heavyPerSec', 'req/s'),
  ...(extra.mode === 'bullmq' ? { server: 'redis' } : {}),
  args: (ctx) => ({
    ...load(ctx),
    ...extra,
    ...(extra.mode === 'bullmq' ? { redisUrl: ctx.servers.redis } : {}),
  }),
});

const P99 = latency('lightP99');

export default {
  name: 'http',
  title: 'end to end: a Nest HTTP app with ~50 ms of CPU per heavy request (4 heavy clients, light endpoint at 50/s)',
  subjects: {
    'ours.http': subject('ours/http.mjs', 'ours: HTTP app offloading to WorkerManager.run(), 2 threads', {}, true),
    'inline.http': subject('peers/http.mjs', 'the same HTTP app doing the work inline', { mode: 'inline' }),
    'bullmq.http': subject('peers/http.mjs', 'the same HTTP app with a BullMQ sandboxed processor, 2 threads', {
      mode: 'bullmq',
    }),
  },
  rows: [
    { label: 'HTTP: heavy requests/s', ours: 'ours.http', peer: 'inline.http', peerLabel: 'same work inline' },
    {
      label: 'HTTP: light endpoint p99',
      ours: 'ours.http',
      peer: 'inline.http',
      peerLabel: 'same work inline',
      metric: P99,
    },
    {
      label: 'HTTP: heavy requests/s',
      ours: 'ours.http',
      peer: 'bullmq.http',
      peerLabel: 'BullMQ sandboxed processor',
    },
    {
      label: 'HTTP: light endpoint p99',
      ours: 'ours.http',
      peer: 'bullmq.http',
      peerLabel: 'BullMQ sandboxed processor',
      metric: P99,
    },
  ],
};
