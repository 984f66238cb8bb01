import type { LoggerService } from '@nestjs/common';
import { serializeError } from '../../boundary/error.serializer.js';
import { Messages } from '../../errors/error-messages.js';
import { InvalidTaskRowError } from '../../errors/worker.errors.js';
import type { TaskEnvelope, TaskOutcome } from '../../interfaces/task-client.interface.js';
import { claimOrder, decodePayload, toEnvelope, type ClaimedRow } from './postgres.codec.js';
import type { Run } from './postgres.database.js';
import type { PostgresMaintenance } from './postgres.maintenance.js';
import type { PostgresStatements } from './postgres.statements.js';
import type { PostgresTaskClientStats } from './postgres-task-client-options.interface.js';

/**
 * The consumer side: takes back leases that ran out (PostgresMaintenance),
 * claims a batch under a fresh lease token, and turns rows into envelopes.
 * Rows nobody can decode are dead-lettered here and never reach the loop.
 */
export class PostgresFetcher {
  constructor(
    private readonly query: Run,
    private readonly sql: PostgresStatements,
    private readonly maintenance: PostgresMaintenance,
    private readonly counters: PostgresTaskClientStats,
    private readonly settings: { queue: string; leaseMs: number; logger: LoggerService },
    /** Records outcomes (the client's publish): releases, and dead letters of undecodable rows. */
    private readonly settle: (outcomes: readonly TaskOutcome[]) => Promise<void>,
    /** Work that must end before the pool does. */
    private readonly track: (work: Promise<unknown>) => void,
  ) {}

  fetch(max: number, signal: AbortSignal): Promise<readonly TaskEnvelope[]> {
    this.maintenance.startCleanup();
    const claim = this.maintenance.reapIfDue().then(() => this.claim(max));
    // Return at once on abort (shutdown must not wait for a database that
    // is down). A claim that commits after that holds tasks nobody will run:
    // hand them straight back instead of letting their lease run out.
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        resolve([]);
        this.track(
          claim.then((tasks) =>
            tasks.length > 0 ? this.settle(tasks.map((task) => ({ status: 'released' as const, task }))) : undefined,
          ),
        );
      };
      signal.addEventListener('abort', onAbort, { once: true });
      claim.then(
        (tasks) => {
          signal.removeEventListener('abort', onAbort);
          resolve(tasks);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  private async claim(max: number): Promise<TaskEnvelope[]> {
    const { rows } = await this.query<ClaimedRow>(this.sql.claim, [this.settings.queue, max, this.settings.leaseMs]);
    rows.sort(claimOrder);
    const tasks: TaskEnvelope[] = [];
    const invalid: TaskOutcome[] = [];
    for (const row of rows) {
      const payload = decodePayload(row.payload, row.encoding);
      if (payload.ok) {
        tasks.push(toEnvelope(row, payload.value));
        continue;
      }
      // Never handed to the loop: a row nobody can decode would fail the same
      // way on every attempt, and must not stop the rows behind it.
      const error = new InvalidTaskRowError(row.id, row.name, this.sql.table, payload.problem);
      this.settings.logger.error(error.message);
      invalid.push({
        status: 'failed',
        reason: 'invalid-payload',
        error: serializeError(error),
        task: toEnvelope(row, undefined),
      });
    }
    this.counters.claimed += tasks.length;
    if (invalid.length > 0) {
      this.counters.invalidRows += invalid.length;
      // If this write fails the rows keep their lease and come back after it,
      // to be dead-lettered then; the good tasks go ahead either way.
      await this.settle(invalid).catch((error: unknown) =>
        this.settings.logger.warn(
          Messages.pgConnectionError('dead-letter', String((error as Error)?.message ?? error)),
        ),
      );
    }
    return tasks;
  }
}
