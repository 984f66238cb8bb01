import { availableParallelism } from 'node:os';
import { InvalidWorkerOptionsError } from './errors/worker.errors.js';
import type {
  FunctionTaskRef,
  RetryBackoffOptions,
  TasksModuleRef,
  WorkerModuleOptions,
} from './interfaces/worker-module-options.interface.js';

/** Options with every default filled in. */
export interface ResolvedWorkerOptions {
  tasksModule?: TasksModuleRef;
  functions: ReadonlyArray<FunctionTaskRef>;
  workers: number;
  queueSize: number;
  whenQueueFull: 'wait' | 'reject';
  defaultTimeoutMs: number;
  timeoutGraceMs: number;
  retry: { maxAttempts: number; backoff: RetryBackoffOptions; nonRetryable: ReadonlyArray<string | number> };
  maxTasksPerWorker: number;
  maxHeapMbPerWorker: number;
  resourceLimits?: WorkerModuleOptions['resourceLimits'];
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  startupTimeoutMs: number;
  shutdownTimeoutMs: number;
  batching: { enabled: boolean; maxBatchSize: number; targetBatchMs: number };
  loop: {
    autoStart: boolean;
    fetchBatchSize: number;
    idleMinMs: number;
    idleMaxMs: number;
    publishBatchSize: number;
    publishIntervalMs: number;
  };
}

export const DEFAULT_BACKOFF: RetryBackoffOptions = { initialMs: 1000, factor: 2, maxMs: 300_000, jitter: 'full' };

/**
 * Fills in defaults and refuses bad options at bootstrap, with a message that
 * names the option and the fix (not a NaN deep inside the pool later).
 */
export function resolveWorkerOptions(options: WorkerModuleOptions = {}): ResolvedWorkerOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidWorkerOptionsError(
      '(options)',
      `must be an object, got ${typeof options}`,
      'Pass an object to WorkerModule.forRoot().',
    );
  }
  const int = (path: string, value: unknown, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new InvalidWorkerOptionsError(
        path,
        `must be an integer >= ${min}, got ${JSON.stringify(value)}`,
        `Set "${path}" to a whole number of at least ${min}, or leave it out for the default (${fallback}).`,
      );
    }
    return value;
  };
  const num = (path: string, value: unknown, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new InvalidWorkerOptionsError(
        path,
        `must be a number >= ${min}, got ${JSON.stringify(value)}`,
        `Set "${path}" to a number of at least ${min}, or leave it out for the default (${fallback}).`,
      );
    }
    return value;
  };
  const oneOf = <T extends string>(path: string, value: unknown, allowed: readonly T[], fallback: T): T => {
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) {
      throw new InvalidWorkerOptionsError(
        path,
        `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(value)}`,
        `Use one of the listed values.`,
      );
    }
    return value as T;
  };
  const bool = (path: string, value: unknown, fallback: boolean): boolean => {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      throw new InvalidWorkerOptionsError(
        path,
        `must be true or false, got ${JSON.stringify(value)}`,
        `Use a boolean.`,
      );
    }
    return value;
  };

  const tasksModule = options.tasksModule;
  if (tasksModule !== undefined) {
    if (typeof tasksModule?.module !== 'function') {
      throw new InvalidWorkerOptionsError(
        'tasksModule.module',
        'must be a Nest module class',
        'Pass the class itself: { module: TasksModule, file: import.meta.url }.',
      );
    }
    checkFile('tasksModule.file', tasksModule.file);
  }
  const functions = options.functions ?? [];
  if (!Array.isArray(functions)) {
    throw new InvalidWorkerOptionsError('functions', 'must be an array', 'Pass [{ name, handler, file }].');
  }
  functions.forEach((fn, i) => {
    if (typeof fn?.name !== 'string' || fn.name.trim() === '') {
      throw new InvalidWorkerOptionsError(
        `functions[${i}].name`,
        'must be a non-empty string',
        'Give each function task a name.',
      );
    }
    if (typeof fn.handler !== 'function') {
      throw new InvalidWorkerOptionsError(
        `functions[${i}].handler`,
        `of task "${fn.name}" must be a function`,
        'Pass the exported function itself.',
      );
    }
    checkFile(`functions[${i}].file`, fn.file);
  });
  if (tasksModule === undefined && functions.length === 0) {
    throw new InvalidWorkerOptionsError(
      'tasksModule',
      'is missing',
      'Name the module that declares your @Task() providers: tasksModule: { module: TasksModule, file: import.meta.url } (or __filename in CommonJS).',
    );
  }

  const retry = options.retry ?? {};
  const backoff = retry.backoff ?? {};
  const batching = options.batching ?? {};
  const loop = options.loop ?? {};
  const nonRetryable = retry.nonRetryable ?? [];
  if (!Array.isArray(nonRetryable)) {
    throw new InvalidWorkerOptionsError(
      'retry.nonRetryable',
      'must be an array of error names or codes',
      'Pass e.g. ["ValidationError", "ERR_NOT_FOUND"].',
    );
  }
  const idleMinMs = num('loop.idleMinMs', loop.idleMinMs, 5, 1);
  const idleMaxMs = num('loop.idleMaxMs', loop.idleMaxMs, 1000, 1);
  if (idleMaxMs < idleMinMs) {
    throw new InvalidWorkerOptionsError(
      'loop.idleMaxMs',
      `(${idleMaxMs}) is below loop.idleMinMs (${idleMinMs})`,
      'Make idleMaxMs at least idleMinMs.',
    );
  }
  return {
    tasksModule,
    functions,
    workers: int('workers', options.workers, availableParallelism(), 1),
    queueSize: int('queueSize', options.queueSize, 1024, 1),
    whenQueueFull: oneOf('whenQueueFull', options.whenQueueFull, ['wait', 'reject'] as const, 'wait'),
    defaultTimeoutMs: num('defaultTimeoutMs', options.defaultTimeoutMs, 0, 0),
    timeoutGraceMs: num('timeoutGraceMs', options.timeoutGraceMs, 100, 0),
    retry: {
      maxAttempts: int('retry.maxAttempts', retry.maxAttempts, 3, 1),
      backoff: resolveBackoff('retry.backoff', backoff),
      nonRetryable,
    },
    maxTasksPerWorker: int('maxTasksPerWorker', options.maxTasksPerWorker, 0, 0),
    maxHeapMbPerWorker: num('maxHeapMbPerWorker', options.maxHeapMbPerWorker, 0, 0),
    resourceLimits: options.resourceLimits,
    execArgv: options.execArgv,
    env: options.env,
    startupTimeoutMs: int('startupTimeoutMs', options.startupTimeoutMs, 30_000, 1),
    shutdownTimeoutMs: int('shutdownTimeoutMs', options.shutdownTimeoutMs, 10_000, 0),
    batching: {
      enabled: bool('batching.enabled', batching.enabled, true),
      maxBatchSize: int('batching.maxBatchSize', batching.maxBatchSize, 64, 1),
      targetBatchMs: num('batching.targetBatchMs', batching.targetBatchMs, 2, 0),
    },
    loop: {
      autoStart: bool('loop.autoStart', loop.autoStart, true),
      fetchBatchSize: int('loop.fetchBatchSize', loop.fetchBatchSize, 256, 1),
      idleMinMs,
      idleMaxMs,
      publishBatchSize: int('loop.publishBatchSize', loop.publishBatchSize, 500, 1),
      publishIntervalMs: num('loop.publishIntervalMs', loop.publishIntervalMs, 5, 0),
    },
  };

  function checkFile(path: string, file: unknown): void {
    if (!(file instanceof URL) && (typeof file !== 'string' || file === '')) {
      throw new InvalidWorkerOptionsError(
        path,
        'must be a file path or URL',
        'Use import.meta.url in an ES module, __filename in CommonJS.',
      );
    }
  }
}

/** Validates a (partial) backoff over the defaults; also used for `@Task({ backoff })`. */
export function resolveBackoff(
  path: string,
  backoff: Partial<RetryBackoffOptions>,
  base: RetryBackoffOptions = DEFAULT_BACKOFF,
): RetryBackoffOptions {
  const out = { ...base, ...backoff };
  for (const key of ['initialMs', 'factor', 'maxMs'] as const) {
    if (typeof out[key] !== 'number' || !Number.isFinite(out[key]) || out[key] < 0) {
      throw new InvalidWorkerOptionsError(
        `${path}.${key}`,
        `must be a number >= 0, got ${JSON.stringify(out[key])}`,
        'Use a non-negative number.',
      );
    }
  }
  if (!['full', 'equal', 'none'].includes(out.jitter)) {
    throw new InvalidWorkerOptionsError(
      `${path}.jitter`,
      `must be "full", "equal" or "none", got ${JSON.stringify(out.jitter)}`,
      'Use one of the listed values.',
    );
  }
  return out;
}
