/**
 * The file piscina starts in every worker thread. It must not import the
 * library's barrel: that would pull the main-thread pool code into each thread.
 */
import { BroadcastChannel, threadId, workerData, parentPort } from 'node:worker_threads';
import 'reflect-metadata';
import type {
  DispatchReply,
  DispatchRequest,
  ThreadControlMessage,
  ThreadSettings,
  ThreadStatusMessage,
} from '../boundary/dispatch.protocol.js';
import { THREAD_DATA_KEY } from '../worker.constants.js';
import { WorkerRuntime } from './worker.runtime.js';

const settings = (workerData as Record<string, ThreadSettings>)[THREAD_DATA_KEY]!;
const runtime = new WorkerRuntime(settings);

// Control messages travel on a BroadcastChannel, not on the Worker object:
// piscina treats every message on `parentPort` as its start-up handshake.
// The pool runs with `atomics: 'async'`, so an idle thread's event loop is
// free to receive them.
const channel = new BroadcastChannel(settings.channel);
channel.onmessage = (event) => {
  const message = (event as unknown as { data: ThreadControlMessage }).data;
  // Reaches a thread whose handler awaits; one stuck in a busy loop is stopped by the main thread instead.
  if (message?.kind === 'cancel') {
    runtime.cancel(message.ids);
    return;
  }
  if (message?.kind !== 'close' || (message.tid !== undefined && message.tid !== threadId)) return;
  void runtime
    .close()
    .catch((error: unknown) =>
      console.error(`[nestjs-worker] thread ${threadId}: closing the Nest context failed`, error),
    )
    .finally(() => {
      const closed: ThreadStatusMessage = { kind: 'closed', pool: settings.pool, tid: threadId };
      parentPort?.postMessage(closed);
      channel.close();
      if (message.exit) process.exit(0);
    });
};
(channel as unknown as { unref?: () => void }).unref?.();

export default function dispatch(request: DispatchRequest): Promise<DispatchReply> {
  return runtime.execute(request);
}
