import { Messages } from '../../errors/error-messages.js';
import { InProcessPool } from '../../pool/in-process.pool.js';
import { WORKER_POOL, type TaskPoolFactory } from '../../pool/task-pool.factory.js';
import { inProcessCode, loadAppTasks } from './app-tasks.loader.js';
import type { InProcessOptions } from './in-process-options.interface.js';

/**
 * Runs an application's tasks without worker threads, in tests:
 *
 * ```ts
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
 *   .overrideProvider(WORKER_POOL).useValue(WorkerTesting.inProcess())
 *   .compile();
 * ```
 *
 * Everything else is the application's own: its `forRoot()` options, its
 * task client and worker loop (retries included), its providers, so mocks,
 * spies and `overrideProvider()` reach the handlers. What crosses the thread
 * boundary is cloned both ways, and fails as it would there.
 */
export const WorkerTesting = {
  /** The token whose provider builds the pool (`overrideProvider(WorkerTesting.POOL)` works as well). */
  POOL: WORKER_POOL,

  /** A pool factory that runs the tasks in this process, on the application's own providers. */
  inProcess(options: InProcessOptions = {}): TaskPoolFactory {
    const { concurrency } = options;
    if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new TypeError(Messages.inProcessConcurrency(concurrency));
    }
    return {
      create({ options: settings, modules, logger }) {
        const n = concurrency ?? settings.workers;
        const pool = new InProcessPool({ concurrency: n, load: () => loadAppTasks(settings, modules) }, logger);
        return {
          pool,
          code: inProcessCode(settings),
          description: `In-process pool (nestjs-worker/testing: no threads, ${n} dispatch(es) at a time)`,
        };
      },
    };
  },
} as const;
