/**
 * PostgresTaskClient against a real PostgreSQL (PG_URL from the test
 * runner): the attempt limit of lease expiry, and outcomes whose errors JSON
 * cannot hold as they are. Every test works on a queue of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Module, type LoggerService } from '@nestjs/common';
import pg from 'pg';
import { serializeError } from '../../lib/boundary/error.serializer.js';
import { MAX_STORED_ERROR_BYTES } from '../../lib/clients/kit/json.encoder.js';
import { PostgresTaskClient, type PostgresTaskClientOptions } from '../../lib/postgres.js';
import { WorkerModule, type TaskRecord } from '../../lib/index.js';
import { ChaosTasksModule } from '../fixtures/chaos.tasks.js';
import { boot, chaosTasksFile, sleep, until } from '../support/app.js';

const url = process.env.PG_URL;
const never = new AbortController().signal;
const queueName = () => `q-${randomUUID().slice(0, 8)}`;

class CaptureLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(message: unknown): void {
    this.warnings.push(String(message));
  }
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

describe('PostgresTaskClient attempts and stored errors', { skip: url ? false : 'PG_URL is not set' }, () => {
  const clients: PostgresTaskClient[] = [];
  let admin: pg.Pool;

  function client(options: Partial<PostgresTaskClientOptions> = {}): PostgresTaskClient {
    const made = new PostgresTaskClient({ connectionString: url!, cleanupIntervalMs: 0, listen: false, ...options });
    clients.push(made);
    return made;
  }

  async function finished(producer: PostgresTaskClient, id: string): Promise<TaskRecord> {
    await until(async () => ['completed', 'failed'].includes((await producer.get(id))?.state ?? ''), 15_000, id);
    return (await producer.get(id))!;
  }

  before(async () => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
    await client().migrate();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await admin.end();
  });

  it('dead-letters an expired lease by the registered @Task limit, not the client default', async () => {
    const queue = queueName();
    const log = new CaptureLogger();
    // maxAttempts: the default, 3.
    const [dying, survivor] = [client({ queue, leaseMs: 200 }), client({ queue, leaseMs: 200, logger: log })];
    survivor.registerTasks([
      { name: 'fragile', maxAttempts: 1 },
      { name: 'noop', maxAttempts: 5 },
    ]);
    const [fragile, ownLimit, foreign] = await dying.enqueueMany([
      { name: 'fragile', payload: 1 },
      { name: 'fragile', payload: 2, maxAttempts: 2 },
      { name: 'another-service.task', payload: 3 },
    ]);
    const held = await dying.fetch(10, never);
    assert.equal(held.length, 3);
    await dying.markStarted(held); // they reached a thread: a lost lease now costs an attempt
    await sleep(300); // nobody extends the leases: the process holding them "died"
    const again = await survivor.fetch(10, never);
    assert.deepEqual(new Set(again.map((t) => t.id)), new Set([ownLimit, foreign]));
    assert.ok(
      again.every((t) => t.attempt === 2),
      'its own maxAttempts (2), and the fallback (3) for a name this process does not know, allow a second attempt',
    );
    const record = (await survivor.get(fragile!))!;
    assert.equal(record.state, 'failed');
    assert.equal(record.failureReason, 'crash');
    assert.equal(record.attempt, 1, 'dead after one lost lease: @Task({ maxAttempts: 1 })');
    assert.deepEqual(
      record.errors.map((e) => e.code),
      ['ERR_WORKER_LEASE_EXPIRED'],
    );
    assert.ok(log.warnings.some((w) => /1 task\(s\) lost their lease on their last attempt/.test(w)));
  });

  it('gets the limits from the worker loop: the module’s retry.maxAttempts decides, not the client’s maxAttempts', async () => {
    const queue = queueName();
    const dying = client({ queue, leaseMs: 300 });
    const id = await dying.enqueue('noop');
    const held = await dying.fetch(1, never);
    assert.equal(held.length, 1);
    await dying.markStarted(held);
    @Module({
      imports: [
        ChaosTasksModule,
        WorkerModule.forRoot({
          tasksModule: { module: ChaosTasksModule, file: chaosTasksFile },
          workers: 1,
          retry: { maxAttempts: 1 },
          loop: { idleMinMs: 50, idleMaxMs: 200 },
          client: { useFactory: () => client({ queue, leaseMs: 300, maxAttempts: 3 }) },
        }),
      ],
    })
    class AttemptsAppModule {}
    const booted = await boot(AttemptsAppModule, ['error']);
    try {
      const record = await finished(dying, id);
      assert.equal(record.failureReason, 'crash');
      assert.equal(record.attempt, 1);
    } finally {
      await booted.close();
    }
  });

  it('stores hostile errors in jsonb, bounded: cycles, BigInt, NUL, lone surrogates, megabytes', async () => {
    const queue = queueName();
    const consumer = client({ queue });
    const [failed, retried, done] = await consumer.enqueueMany([1, 2, 3].map((n) => ({ name: 'noop', payload: n })));
    const tasks = await consumer.fetch(10, never);
    const task = (id: string) => tasks.find((t) => t.id === id)!;
    const thrown = Object.assign(new Error(`nul\u0000 lone \uDC00 ${'m'.repeat(1_000_000)}`), { big: 10n ** 30n });
    (thrown as Error & { self?: unknown }).self = thrown;
    const error = serializeError(thrown);
    await consumer.publish([
      { status: 'failed', task: task(failed!), reason: 'error', error },
      { status: 'retry', task: task(retried!), reason: 'error', error, nextAttempt: 2, delayMs: 60_000, runAt: 0 },
    ]);
    await consumer.publish([{ status: 'completed', task: task(done!), result: 'after', durationMs: 1 }]);
    const record = (await consumer.get(failed!))!;
    assert.equal(record.state, 'failed');
    assert.match(record.errors[0]!.message, /^nul\uFFFD lone \uFFFD m+…\[\+\d+ chars\]$/);
    assert.equal(record.errors[0]!.props?.big, String(10n ** 30n));
    assert.equal((record.errors[0]!.props?.self as { self: string }).self, '[Circular]');
    const { rows } = await admin.query(
      `SELECT octet_length(errors->>0) AS bytes FROM nestjs_worker.tasks WHERE queue = $1 AND id = $2`,
      [queue, failed],
    );
    assert.ok(rows[0].bytes <= MAX_STORED_ERROR_BYTES, `${rows[0].bytes} bytes`);
    assert.equal((await consumer.get(retried!))?.errors.length, 1);
    assert.equal((await consumer.get(done!))?.result, 'after');
    assert.equal(consumer.stats.staleOutcomes, 0);
  });
});
