import { encodeJson } from '../clients/kit/json.encoder.js';
import { checkScheduleShape } from '../decorators/task-options.checks.js';
import { Messages } from '../errors/error-messages.js';
import { InvalidScheduleError, SchedulesUnsupportedError } from '../errors/worker.errors.js';
import type { TaskClient } from '../interfaces/task-client.interface.js';
import type { TaskStore } from '../interfaces/task-store.interface.js';
import type { TaskSchedule } from '../interfaces/task-options.interface.js';
import type { WorkerModuleOptions } from '../interfaces/worker-module-options.interface.js';
import type { TaskRegistry } from '../task.registry.js';
import { CronExpression } from './cron.expression.js';

/** A schedule as the scheduler runs it: defaults filled in, cron expression read. */
export interface ScheduleSpec {
  /** Name of its marker in the store: `schedule.key`, else the task name. */
  readonly key: string;
  readonly task: string;
  readonly cron: CronExpression;
  readonly payload: unknown;
  readonly catchUp: 'latest' | 'none';
  /** Where it was declared, for messages. */
  readonly declaredBy: string;
}

/**
 * The schedules of the application, checked: `@Task({ schedule })` of every
 * task the threads can run (from the registry, so a schedule declared only
 * in the tasks module counts too) and the module's `schedules` option, each
 * naming a known task, with a cron expression and a time zone that can be
 * read, under a key no other schedule uses. Any problem throws
 * `InvalidScheduleError` naming the schedule and the fix; schedules with a
 * client that cannot keep markers throw `SchedulesUnsupportedError`.
 */
export function collectSchedules(
  registry: TaskRegistry,
  moduleSchedules: WorkerModuleOptions['schedules'],
  client: TaskClient & Partial<TaskStore>,
): ScheduleSpec[] {
  const specs: ScheduleSpec[] = [];
  const byKey = new Map<string, ScheduleSpec>();
  const add = (task: string, schedule: TaskSchedule, declaredBy: string) => {
    const timezone = schedule.timezone ?? 'UTC';
    const problem = CronExpression.problem(schedule.cron, timezone);
    if (problem) {
      throw new InvalidScheduleError(
        Messages.invalidSchedule(
          declaredBy,
          `${problem.field} ${problem.problem}`,
          problem.field === 'timezone'
            ? `Use an IANA time zone name such as 'Europe/Berlin' or 'America/New_York' (default 'UTC').`
            : `Use five fields (minute hour day-of-month month day-of-week), or six with seconds first, e.g. '0 6 * * *' or '*/10 * * * * *'.`,
        ),
      );
    }
    // Every store but the in-memory one refuses what JSON cannot carry; say so now rather than at every tick.
    const payload = encodeJson(schedule.payload);
    if (!payload.ok) {
      throw new InvalidScheduleError(
        Messages.invalidSchedule(
          declaredBy,
          `its payload cannot be written as JSON (${payload.problem})`,
          'Give the schedule plain data as its payload (objects, arrays, strings, numbers, booleans, null).',
        ),
      );
    }
    const key = schedule.key ?? task;
    const clash = byKey.get(key);
    if (clash) {
      throw new InvalidScheduleError(
        Messages.invalidSchedule(
          declaredBy,
          `its key "${key}" is also the key of the schedule of ${clash.declaredBy}`,
          `Give one of them its own "key": each key is one marker in the store, fired once per tick.`,
        ),
      );
    }
    const spec: ScheduleSpec = {
      key,
      task,
      cron: new CronExpression(schedule.cron, timezone),
      payload: schedule.payload,
      catchUp: schedule.catchUp ?? 'latest',
      declaredBy,
    };
    byKey.set(key, spec);
    specs.push(spec);
  };
  for (const name of registry.names()) {
    const definition = registry.get(name)!;
    if (definition.schedule) add(name, definition.schedule, `@Task("${name}") (${definition.declaredBy})`);
  }
  if (moduleSchedules !== undefined) {
    if (!Array.isArray(moduleSchedules)) {
      throw new InvalidScheduleError(
        Messages.invalidSchedule('WorkerModule option "schedules"', 'must be an array', 'Pass [{ task, cron }, ...].'),
      );
    }
    moduleSchedules.forEach((entry, i) => {
      const where = `WorkerModule option "schedules[${i}]"`;
      const fail = (path: string, problem: string, fix: string) =>
        new InvalidScheduleError(Messages.invalidSchedule(where, `"${path}" ${problem}`, fix));
      checkScheduleShape(`schedules[${i}]`, entry, fail);
      const task = (entry as { task?: unknown }).task;
      if (typeof task !== 'string' || !registry.get(task)) {
        throw fail(
          `schedules[${i}].task`,
          `must name a task the worker threads can run, got ${JSON.stringify(task)}`,
          `Use one of: ${registry.names().join(', ')}.`,
        );
      }
      add(task, entry, `${where} (task "${task}")`);
    });
  }
  const missing = specs.length > 0 ? lacksScheduleMarkers(client) : undefined;
  if (missing)
    throw new SchedulesUnsupportedError(
      specs.map((s) => s.key),
      missing,
    );
  return specs;
}

/**
 * Who lacks `fireSchedule()`, or undefined when the client has it. A client
 * that forwards to a store elsewhere (GrpcTaskClient) has the method
 * whatever that store has, and tells the store's members in `storeFeatures`
 * once its server answered: a store without markers then fails the boot
 * here, as a local client without them does, instead of every tick failing.
 */
function lacksScheduleMarkers(client: TaskClient & Partial<TaskStore>): string | undefined {
  const name = client.constructor?.name || 'the task client';
  if (typeof client.fireSchedule !== 'function') return name;
  const { storeFeatures, address } = client as { storeFeatures?: unknown; address?: unknown };
  if (!Array.isArray(storeFeatures) || storeFeatures.includes('fireSchedule')) return undefined;
  return `the store behind ${name}${typeof address === 'string' ? ` (${address})` : ''}`;
}
