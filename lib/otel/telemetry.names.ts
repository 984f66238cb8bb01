/**
 * Names of what nestjs-worker reports. OpenTelemetry's semantic conventions
 * for messaging where they have a name for it (the process span and its
 * duration); `nestjs_worker.*` for what they do not cover (a bounded queue
 * in front of threads, the threads themselves).
 */
export const INSTRUMENTATION_SCOPE = 'nestjs-worker';

export const ATTR = {
  messagingSystem: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  errorType: 'error.type',
  taskName: 'nestjs_worker.task.name',
  taskId: 'nestjs_worker.task.id',
  attempt: 'nestjs_worker.task.attempt',
  source: 'nestjs_worker.task.source',
  outcome: 'nestjs_worker.task.outcome',
  threadId: 'nestjs_worker.thread.id',
  restartReason: 'nestjs_worker.thread.restart.reason',
  loopOutcome: 'nestjs_worker.loop.outcome',
} as const;

export const MESSAGING_SYSTEM = 'nestjs_worker';

export const METRIC = {
  /** Semantic conventions: duration of processing a message (here: a task attempt in its thread), s. */
  processDuration: 'messaging.process.duration',
  /** From entering the bounded queue to reaching a thread, s. */
  waitDuration: 'nestjs_worker.task.wait.duration',
  /** Attempts (and map() items) by outcome: the counts of `WorkerManager.stats()`. */
  outcomes: 'nestjs_worker.task.outcomes',
  /** Worker-loop deliveries by what the loop published: completed, retry, failed (dead letter), released. */
  loopOutcomes: 'nestjs_worker.loop.outcomes',
  queueDepth: 'nestjs_worker.queue.depth',
  queueWaiting: 'nestjs_worker.queue.waiting',
  inFlight: 'nestjs_worker.task.in_flight',
  threadsAlive: 'nestjs_worker.threads.alive',
  utilization: 'nestjs_worker.threads.utilization',
  restarts: 'nestjs_worker.thread.restarts',
} as const;

/** Bucket bounds for task durations, s: sub-millisecond tasks to minutes. */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];
