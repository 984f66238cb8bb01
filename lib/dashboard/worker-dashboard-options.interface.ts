import type { CanActivate, ModuleMetadata, Type } from '@nestjs/common';
import { InvalidWorkerDashboardOptionsError } from '../errors/worker.errors.js';

/** A guard class (built by Nest, with its dependencies) or a guard instance. */
export type DashboardGuard = Type<CanActivate> | CanActivate;

/** Options of `WorkerDashboardModule.forRoot()`. */
export interface WorkerDashboardOptions {
  /**
   * Where the page is served (and its data under it: `<path>/state`,
   * `<path>/events`, `<path>/actions/...`), below the app's global prefix.
   * @default 'workers'
   */
  path?: string;
  /**
   * Guards the actions (retry a dead letter, cancel a task, pause and resume
   * the loop). Without it every action is refused with 403 and the page
   * hides them. Its dependencies must be injectable from the dashboard
   * module: global providers, or the modules in `imports`.
   * @default no guard: no actions
   */
  guard?: DashboardGuard;
  /**
   * Guards the page and its data (figures, task names, errors and payloads
   * of dead letters). Without it anyone who reaches the app can read them.
   * @default no guard: reads are open
   */
  readGuard?: DashboardGuard;
  /** Modules that provide what `guard` and `readGuard` inject. @default [] */
  imports?: ModuleMetadata['imports'];
  /** Time between two live updates sent to an open page, in ms (at least 250). @default 1000 */
  intervalMs?: number;
  /**
   * Time between two questions to the task client's store (`counts()`,
   * `deadLetters()`) while a page is open, in ms; 0 never asks it.
   * @default 5000
   */
  storePollMs?: number;
  /** Dead letters shown, newest first. @default 20 */
  deadLetters?: number;
  /** Failures seen while a page was open that are kept and shown, newest first. @default 50 */
  recentFailures?: number;
}

export type ResolvedDashboardOptions = Required<Omit<WorkerDashboardOptions, 'guard' | 'readGuard' | 'imports'>> &
  Pick<WorkerDashboardOptions, 'guard' | 'readGuard' | 'imports'>;

export const DASHBOARD_DEFAULTS = {
  path: 'workers',
  intervalMs: 1000,
  storePollMs: 5000,
  deadLetters: 20,
  recentFailures: 50,
} as const;

const KNOWN = new Set(['path', 'guard', 'readGuard', 'imports', ...Object.keys(DASHBOARD_DEFAULTS)]);

function checkGuard(key: 'guard' | 'readGuard', value: unknown): void {
  if (value === undefined) return;
  const isClass = typeof value === 'function';
  const isInstance =
    typeof value === 'object' && value !== null && typeof (value as CanActivate).canActivate === 'function';
  if (!isClass && !isInstance) {
    throw new InvalidWorkerDashboardOptionsError(
      key,
      `must be a guard class or an object with canActivate(), got ${value === null ? 'null' : typeof value}`,
      `Pass the class of a guard (e.g. ${key}: AdminGuard, an @Injectable() implementing CanActivate), or an instance of one.`,
    );
  }
}

function checkInteger(key: keyof typeof DASHBOARD_DEFAULTS, value: unknown, min: number, unit: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidWorkerDashboardOptionsError(
      key,
      `must be an integer of at least ${min}, got ${typeof value === 'number' ? value : typeof value}`,
      `Give a number of ${unit}, or leave it out for ${DASHBOARD_DEFAULTS[key]}.`,
    );
  }
}

/** The options with their defaults, each checked; throws naming the option and the fix. */
export function resolveDashboardOptions(options: WorkerDashboardOptions = {}): ResolvedDashboardOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidWorkerDashboardOptionsError(
      '(options)',
      'must be an object',
      'Call forRoot({ path: "workers", guard: AdminGuard }).',
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new InvalidWorkerDashboardOptionsError(key, 'is not an option', `Use ${[...KNOWN].join(', ')}.`);
    }
  }
  const path = options.path ?? DASHBOARD_DEFAULTS.path;
  if (typeof path !== 'string' || !/^\/?[A-Za-z0-9_~-]+(\/[A-Za-z0-9_~-]+)*\/?$/.test(path)) {
    throw new InvalidWorkerDashboardOptionsError(
      'path',
      `must be a URL path of letters, digits, '-', '_' and '~' segments, got ${JSON.stringify(path)}`,
      `Give a plain path such as 'workers' or 'admin/workers' (no parameters, wildcards or '..').`,
    );
  }
  checkGuard('guard', options.guard);
  checkGuard('readGuard', options.readGuard);
  if (options.imports !== undefined && !Array.isArray(options.imports)) {
    throw new InvalidWorkerDashboardOptionsError(
      'imports',
      'must be an array of modules',
      'List the modules that provide what your guards inject.',
    );
  }
  checkInteger('intervalMs', options.intervalMs, 250, 'milliseconds (250 or more)');
  checkInteger('storePollMs', options.storePollMs, 0, 'milliseconds (0 never asks the store)');
  checkInteger('deadLetters', options.deadLetters, 0, 'dead letters');
  checkInteger('recentFailures', options.recentFailures, 0, 'failures');
  return {
    ...DASHBOARD_DEFAULTS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    path: path.replace(/^\/+|\/+$/g, ''),
  } as ResolvedDashboardOptions;
}
