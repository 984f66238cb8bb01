import type { TaskClient } from '../interfaces/task-client.interface.js';
import type { TaskStore } from '../interfaces/task-store.interface.js';

/**
 * The optional members of TaskClient/TaskStore a server's store may have.
 * The server tells them in HelloReply.store_features; a call to one the
 * store lacks ends with UNIMPLEMENTED and a message naming the store.
 */
export const STORE_FEATURES = [
  'cancel',
  'watchCancels',
  'reportProgress',
  'acquirePermits',
  'fireSchedule',
  'retryDeadLetter',
] as const;

export type StoreFeature = (typeof STORE_FEATURES)[number];

/** The optional members `store` has, as functions. */
export function storeFeatures(store: TaskClient & TaskStore): StoreFeature[] {
  return STORE_FEATURES.filter((name) => typeof (store as unknown as Record<string, unknown>)[name] === 'function');
}

/** The store's class name, for messages ("InMemoryTaskClient"). */
export function storeName(store: object): string {
  const name = (store as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'task store';
}

/** Why a call cannot be served: the server's store has no such method. */
export function unsupportedByStore(store: string, feature: StoreFeature, call: string): string {
  return `the task server's store (${store}) has no ${feature}(), so ${call} cannot be served over gRPC. Serve a store that implements it (InMemoryTaskClient, PostgresTaskClient and RedisTaskClient do, in the nestjs-worker version that added it), or upgrade the server's nestjs-worker.`;
}
