/**
 * Chaos: thousands of tasks, some of which throw, hang, exit their thread or
 * exhaust its memory, with app.close() called mid-run. The ledger client
 * proves the loop's invariant: every delivery it fetched got exactly one
 * terminal report (completed, retry, failed or released), never zero, never
 * two; and a second app on the same source finishes what the first released.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { WorkerModule, type TaskOutcome } from '../../lib/index.js';
import { LoopTasksModule } from '../fixtures/loop.tasks.js';
import { boot, until } from '../support/app.js';
import { LedgerClient } from '../support/ledger.client.js';

const loopTasksFile = new URL('../fixtures/loop.tasks.js', import.meta.url);
const TOTAL = 3000;
const MAX_ATTEMPTS = 2;
const MAX_BACKOFF_MS = 20;

function chaosPlan(): Array<{ name: string; payload: unknown }> {
  return Array.from({ length: TOTAL }, (_, i) => {
    if (i % 1000 === 500) return { name: 'oom', payload: null };
    if (i % 300 === 150) return { name: 'spin', payload: null };
    if (i % 300 === 75) return { name: 'exit', payload: null };
    if (i % 20 === 7) return { name: 'decline', payload: { code: `c${i}` } };
    if (i % 10 === 3) return { name: 'burn', payload: { ms: 1 } };
    if (i % 50 === 11) return { name: 'sleep', payload: { ms: 20 } };
    return { name: 'add', payload: { a: i, b: 1 } };
  });
}

function bootOn(ledger: LedgerClient) {
  @Module({
    imports: [
      LoopTasksModule,
      WorkerModule.forRoot({
        tasksModule: { module: LoopTasksModule, file: loopTasksFile },
        workers: 2,
        resourceLimits: { maxOldGenerationSizeMb: 48 },
        retry: { maxAttempts: MAX_ATTEMPTS, backoff: { initialMs: 5, factor: 2, maxMs: MAX_BACKOFF_MS } },
        shutdownTimeoutMs: 2000,
        client: { useValue: ledger },
      }),
    ],
  })
  class ChaosAppModule {}
  return boot(ChaosAppModule, false);
}

describe('chaos: nothing lost, nothing reported twice', () => {
  it('keeps the one-report-per-delivery invariant through crashes, hangs, OOM and app.close() mid-run', async (t) => {
    const ledger = new LedgerClient();
    const ids = ledger.inner.enqueueMany(chaosPlan());
    const plan = new Map(ids.map((id, i) => [id, chaosPlan()[i]!.name]));

    const first = await bootOn(ledger);
    await until(() => ledger.outcomes.length >= TOTAL * 0.4, 60_000, '40% of the outcomes');
    await first.close();
    const afterFirst = ledger.inner.counts();
    t.diagnostic(
      `after close() mid-run: ${JSON.stringify(afterFirst)}, ${ledger.fetched.length} deliveries, ${ledger.outcomes.length} outcomes`,
    );
    assert.equal(afterFirst.running, 0, 'no task is left running (lost) after close()');
    assert.ok(afterFirst.queued + afterFirst.delayed > 0, 'close() came mid-run');
    assert.ok(
      ledger.outcomes.some((o) => o.status === 'released'),
      'unstarted tasks were handed back',
    );

    const second = await bootOn(ledger);
    await until(
      () => {
        const c = ledger.inner.counts();
        return c.completed + c.failed === TOTAL;
      },
      120_000,
      'every task to end',
    );
    await second.close();

    // The invariant: every delivery got exactly one report.
    const { deliveries, strays } = ledger.reportsPerDelivery();
    assert.equal(strays.length, 0, 'no outcome for a delivery that was never fetched');
    const wrong = [...deliveries].filter(([, outcomes]) => outcomes.length !== 1);
    assert.equal(
      wrong.length,
      0,
      `${wrong.length} deliveries without exactly one report, e.g. ${JSON.stringify(wrong[0]?.[1].map((o) => o.status))}`,
    );

    // Every task ended, each the way its behaviour says.
    const byStatus = (status: TaskOutcome['status']) => ledger.outcomes.filter((o) => o.status === status).length;
    t.diagnostic(
      `${deliveries.size} deliveries: ${byStatus('completed')} completed, ${byStatus('retry')} retry, ${byStatus('failed')} failed, ${byStatus('released')} released`,
    );
    for (const id of ids) {
      const record = ledger.inner.get(id)!;
      const name = plan.get(id)!;
      switch (name) {
        case 'decline':
        case 'spin':
        case 'exit':
        case 'oom': {
          assert.equal(record.state, 'failed', `${name} ${id}`);
          assert.equal(record.attempt, MAX_ATTEMPTS, `${name} ${id} made ${record.attempt} attempts`);
          assert.equal(record.errors.length, MAX_ATTEMPTS);
          const reason = { decline: 'error', spin: 'timeout', exit: 'crash', oom: 'crash' }[name];
          assert.equal(record.failureReason, reason, `${name} ${id}: ${record.errors.at(-1)?.message}`);
          break;
        }
        default:
          assert.equal(record.state, 'completed', `${name} ${id}: ${record.errors.at(-1)?.message}`);
      }
    }

    // Retries were made as configured.
    for (const outcome of ledger.outcomes) {
      if (outcome.status !== 'retry') continue;
      assert.equal(outcome.nextAttempt, outcome.task.attempt + 1);
      assert.ok(outcome.task.attempt < MAX_ATTEMPTS);
      assert.ok(outcome.delayMs >= 0 && outcome.delayMs <= MAX_BACKOFF_MS, `delay ${outcome.delayMs}`);
    }
    const failedForGood = ledger.outcomes.filter((o) => o.status === 'failed');
    assert.ok(failedForGood.every((o) => o.task.attempt === MAX_ATTEMPTS));
  });
});
