import { availableParallelism } from 'node:os';
import { MAX_TIMER_MS } from './common/backoff.js';
import { optionChecks } from './common/option-checks.js';
import { checkBackoff, checkTaskOptions, mergeBackoff } from './decorators/task-options.checks.js';
import { InvalidWorkerOptionsError } from './errors/worker.errors.js';
import type { RedactErrorHook } from './interfaces/error-redaction.interface.js';
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
  redact?: RedactErrorHook;
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
  const fail = (path: string, problem: string, fix: string) => new InvalidWorkerOptionsError(path, problem, fix);
  const { int, num, bool, oneOf } = optionChecks(fail);
  const timer = { min: 0, max: MAX_TIMER_MS };

  const tasksModule = options.tasksModule;
  if (tasksModule !== undefined) {
    if (typeof tasksModule?.module !== 'function') {
      throw new InvalidWorkerOptionsError(
        'tasksModule.module',
        'must be a Nest module class',
        "Pass the class itself: { module: HashTasksModule, file: join(__dirname, 'hash.tasks.js') } (CommonJS), or new URL('./hash.tasks.js', import.meta.url) as the file in an ES module.",
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
    for (const key of ['retryIf', 'schema'] as const) {
      if ((fn.options as Record<string, unknown> | undefined)?.[key] !== undefined) {
        throw fail(
          `functions[${i}].options.${key}`,
          `of task "${fn.name}" is not supported for function tasks`,
          'A function cannot reach the worker threads through options: declare the task with @Task() on a provider to use it.',
        );
      }
    }
    checkTaskOptions(fn.options, fail, `functions[${i}].options.`);
  });
  if (tasksModule === undefined && functions.length === 0) {
    throw new InvalidWorkerOptionsError(
      'tasksModule',
      'is missing',
      "Name the module that declares your @Task() providers and the file that exports it: tasksModule: { module: HashTasksModule, file: join(__dirname, 'hash.tasks.js') } (CommonJS), or new URL('./hash.tasks.js', import.meta.url) as the file in an ES module.",
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
  const idleMinMs = num('loop.idleMinMs', loop.idleMinMs, 5, { min: 1 });
  const idleMaxMs = num('loop.idleMaxMs', loop.idleMaxMs, 1000, { min: 1 });
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
    workers: int('workers', options.workers, availableParallelism(), { min: 1 }),
    queueSize: int('queueSize', options.queueSize, 1024, { min: 1 }),
    whenQueueFull: oneOf('whenQueueFull', options.whenQueueFull, ['wait', 'reject'] as const, 'wait'),
    defaultTimeoutMs: num('defaultTimeoutMs', options.defaultTimeoutMs, 0, timer),
    timeoutGraceMs: num('timeoutGraceMs', options.timeoutGraceMs, 100, timer),
    retry: {
      maxAttempts: int('retry.maxAttempts', retry.maxAttempts, 3, { min: 1 }),
      backoff: mergeBackoff(DEFAULT_BACKOFF, checkBackoff('retry.backoff', backoff, fail)),
      nonRetryable,
    },
    ...(options.redact !== undefined ? { redact: checkRedact(options.redact) } : {}),
    maxTasksPerWorker: int('maxTasksPerWorker', options.maxTasksPerWorker, 0, { min: 0 }),
    maxHeapMbPerWorker: num('maxHeapMbPerWorker', options.maxHeapMbPerWorker, 0, { min: 0 }),
    resourceLimits: options.resourceLimits,
    execArgv: options.execArgv,
    env: options.env,
    startupTimeoutMs: int('startupTimeoutMs', options.startupTimeoutMs, 30_000, { ...timer, min: 1 }),
    shutdownTimeoutMs: int('shutdownTimeoutMs', options.shutdownTimeoutMs, 10_000, timer),
    batching: {
      enabled: bool('batching.enabled', batching.enabled, true),
      maxBatchSize: int('batching.maxBatchSize', batching.maxBatchSize, 64, { min: 1 }),
      targetBatchMs: num('batching.targetBatchMs', batching.targetBatchMs, 2, { min: 0 }),
    },
    loop: {
      autoStart: bool('loop.autoStart', loop.autoStart, true),
      fetchBatchSize: int('loop.fetchBatchSize', loop.fetchBatchSize, 256, { min: 1 }),
      idleMinMs,
      idleMaxMs,
      publishBatchSize: int('loop.publishBatchSize', loop.publishBatchSize, 500, { min: 1 }),
      publishIntervalMs: num('loop.publishIntervalMs', loop.publishIntervalMs, 5, timer),
    },
  };

  function checkRedact(redact: unknown): RedactErrorHook {
    if (typeof redact !== 'function') {
      throw fail(
        'redact',
        `must be a function, got ${typeof redact}`,
        'Pass (error, task) => error, returning the error as it may be stored and logged.',
      );
    }
    return redact as RedactErrorHook;
  }

  function checkFile(path: string, file: unknown): void {
    // Only its presence: what form it must have is checked where it is
    // resolved (resolveModuleFile), with a message about bundlers.
    if (file === undefined || file === null || file === '') {
      throw new InvalidWorkerOptionsError(
        path,
        'must be a file path or URL',
        "Name the file that exports it: join(__dirname, 'hash.tasks.js') in CommonJS, new URL('./hash.tasks.js', import.meta.url) in an ES module.",
      );
    }
  }
}
