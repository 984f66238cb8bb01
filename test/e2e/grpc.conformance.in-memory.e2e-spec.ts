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
import { GrpcTaskClient } from '../../lib/grpc.js';
import { taskClientConformance } from '../../lib/testing.js';
import { jobControlFeatures, quiet, serve } from '../support/grpc.support.js';

taskClientConformance<GrpcTaskClient>({
  name: 'GrpcTaskClient (in-memory store)',
  features: jobControlFeatures(InMemoryTaskClient),
  open: async () => {
    const store = new InMemoryTaskClient({ maxFinished: 100_000 });
    const served = await serve(store, { leaseMs: 1000 });
    const clients: GrpcTaskClient[] = [];
    const make = async () => {
      const client = await GrpcTaskClient.connect({ url: served.url, fetchWaitMs: 200, logger: quiet });
      clients.push(client);
      return client;
    };
    return {
      client: await make(),
      consumer: make,
      kill: (victim) => victim.close(),
      close: async () => {
        for (const client of clients) client.close();
        await served.close();
      },
    };
  },
});
