/**
 * The queue each gRPC conformance case opens, whatever store the server
 * serves (grpc.conformance.{in-memory,postgres,redis}.e2e-spec.ts): a server
 * of its own over loopback on `store`, the client under test and every
 * further consumer a client of that server (as other worker machines would
 * be), a killed consumer one closed without giving anything back. The spec
 * of each store only says how to make its store and remove its data.
 */
import type { ConformanceQueue } from '../../lib/testing.js';
import { GrpcTaskClient, type GrpcTaskServerOptions } from '../../lib/grpc.js';
import { quiet, serve } from '../support/grpc.support.js';

export async function servedQueue(
  store: GrpcTaskServerOptions['store'],
  options: { server?: Partial<GrpcTaskServerOptions>; dispose?: () => Promise<void> } = {},
): Promise<ConformanceQueue<GrpcTaskClient>> {
  const served = await serve(store, options.server);
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
      await options.dispose?.();
    },
  };
}
