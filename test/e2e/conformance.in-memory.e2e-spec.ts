/**
 * The TaskClient conformance suite (nestjs-worker/testing) on the in-memory
 * client, on node:test. One process, no leases: the cases of several
 * consumers and of leases do not apply and are reported as skipped.
 */
import { InMemoryTaskClient } from '../../lib/index.js';
import { taskClientConformance } from '../../lib/testing.js';

taskClientConformance({
  name: 'InMemoryTaskClient',
  features: { consumers: false, leases: false },
  open: () => ({ client: new InMemoryTaskClient({ maxFinished: 100_000 }), close: () => undefined }),
});
