/**
 * The TaskClient conformance suite on GrpcTaskClient, against a
 * GrpcTaskServer over loopback serving an InMemoryTaskClient. The in-memory
 * store has no leases: the server keeps them (leaseMs 1000 here), so every
 * case runs, those of several consumers and of leases included. Each case
 * gets a store and a server of its own; its consumers are further clients
 * of that server, as other worker machines would be, and a killed consumer
 * is one closed without giving anything back.
 */
import { InMemoryTaskClient } from '../../lib/index.js';
import type { GrpcTaskClient } from '../../lib/grpc.js';
import { taskClientConformance } from '../../lib/testing.js';
import { jobControlFeatures } from '../support/grpc.support.js';
import { servedQueue } from './grpc.conformance.queue.js';

taskClientConformance<GrpcTaskClient>({
  name: 'GrpcTaskClient (in-memory store)',
  features: jobControlFeatures(InMemoryTaskClient),
  open: () => servedQueue(new InMemoryTaskClient({ maxFinished: 100_000 }), { server: { leaseMs: 1000 } }),
});
