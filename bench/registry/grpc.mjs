/**
 * Draining a queue over gRPC: a GrpcTaskServer (its own process) serves a
 * PostgreSQL or Redis queue to our worker loop through GrpcTaskClient,
 * against the direct clients of the postgres and redis workloads on the
 * same server. Context rows: what the hop through the task server costs.
 */
import { throughput } from './define.mjs';

const drain = (backend, server) => ({
  label: `ours: GrpcTaskClient drain, ${backend === 'postgres' ? 'PostgreSQL' : 'Redis'} store behind a GrpcTaskServer`,
  program: 'ours/grpc.mjs',
  ours: true,
  server,
  metric: throughput('jobs/s'),
  args: (ctx) => ({
    backend,
    url: ctx.servers[server],
    count: ctx.size(100_000, 5_000),
    warmupCount: ctx.size(10_000, 1_000),
  }),
});

export default {
  name: 'grpc',
  title: 'gRPC: drain 100k queued no-op tasks through a task server',
  subjects: {
    'grpc.pg': drain('postgres', 'postgres'),
    'grpc.redis': drain('redis', 'redis'),
  },
  rows: [
    {
      label: 'Drain over gRPC, PostgreSQL store',
      ours: 'grpc.pg',
      peer: 'ours.pg',
      peerLabel: 'PostgresTaskClient direct',
    },
    {
      label: 'Drain over gRPC, Redis store',
      ours: 'grpc.redis',
      peer: 'ours.redis',
      peerLabel: 'RedisTaskClient direct',
    },
  ],
};
