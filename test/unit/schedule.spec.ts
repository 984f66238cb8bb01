import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoggerService } from '@nestjs/common';
import { CronExpression } from '../../lib/schedule/cron.expression.js';
import type { ScheduleSpec } from '../../lib/schedule/schedule.collector.js';
import { TaskScheduler } from '../../lib/schedule/task.scheduler.js';
import type { ScheduleFire } from '../../lib/interfaces/task-store.interface.js';

const quiet = (): LoggerService & { warns: string[] } => {
  const warns: string[] = [];
  return {
    warns,
    log: () => undefined,
    warn: (m: string) => warns.push(m),
    error: () => undefined,
    debug: () => undefined,
  };
};

function spec(cron: string, catchUp: 'latest' | 'none' = 'latest'): ScheduleSpec {
  return {
    key: 'report',
    task: 'report.run',
    cron: new CronExpression(cron, 'UTC'),
    payload: { p: 1 },
    catchUp,
    declaredBy: 'test',
  };
}

describe('CronExpression', () => {
  it('reads five fields, or six with seconds, in a time zone, across a DST change', () => {
    const berlin = new CronExpression('0 6 * * *', 'Europe/Berlin');
    // 06:00 in Berlin: 05:00Z in winter (CET), 04:00Z once summer time began on 2026-03-29.
    assert.equal(berlin.nextAfter(Date.UTC(2026, 2, 27, 12)), Date.UTC(2026, 2, 28, 5));
    assert.equal(berlin.nextAfter(Date.UTC(2026, 2, 28, 12)), Date.UTC(2026, 2, 29, 4));
    assert.equal(berlin.latestAtOrBefore(Date.UTC(2026, 2, 29, 4, 30)), Date.UTC(2026, 2, 29, 4));
    const seconds = new CronExpression('*/10 * * * * *', 'UTC');
    assert.equal(seconds.nextAfter(Date.UTC(2030, 0, 1, 0, 0, 10)), Date.UTC(2030, 0, 1, 0, 0, 20), 'strictly after');
    assert.equal(
      seconds.latestAtOrBefore(Date.UTC(2030, 0, 1, 0, 0, 10)),
      Date.UTC(2030, 0, 1, 0, 0, 10),
      'at or before',
    );
  });

  it('says what is wrong with an expression or a time zone', () => {
    assert.equal(CronExpression.problem('0 6 * * *', 'Europe/Berlin'), undefined);
    assert.equal(CronExpression.problem('61 * * * *', 'UTC')?.field, 'cron');
    assert.equal(CronExpression.problem('* * * * * * *', 'UTC')?.field, 'cron', 'seven fields');
    assert.equal(CronExpression.problem('not cron', 'UTC')?.field, 'cron');
    assert.equal(CronExpression.problem('0 6 * * *', 'Mars/Olympus')?.field, 'timezone');
  });
});

describe('TaskScheduler', () => {
  it('offers the latest past tick to record at start, then each tick to fire, and stops cleanly', async () => {
    const offers: ScheduleFire[] = [];
    const scheduler = new TaskScheduler(
      [spec('* * * * * *')],
      { fireSchedule: (fire: ScheduleFire) => void offers.push(fire) as undefined },
      quiet(),
    );
    const started = Date.now();
    scheduler.start();
    while (offers.filter((o) => o.whenNew === 'fire').length < 2) await new Promise((r) => setTimeout(r, 20));
    await scheduler.stop();
    assert.equal(offers[0]!.whenNew, 'record');
    assert.ok(offers[0]!.tick <= started && offers[0]!.tick > started - 1000, 'the latest past tick');
    const ticks = offers.map((o) => o.tick);
    for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i]! - ticks[i - 1]!, 1000, 'every tick, once, in order');
    assert.deepEqual(offers[1]!.task, { name: 'report.run', payload: { p: 1 } });
    assert.equal(offers[1]!.key, 'report');
    const count = offers.length;
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(offers.length, count, 'nothing offered after stop()');
    assert.equal(scheduler.list()[0]!.nextFireAt, undefined);
  });

  it('catchUp "none" offers no past tick; list() shows the next tick', async () => {
    const offers: ScheduleFire[] = [];
    const scheduler = new TaskScheduler(
      [spec('0 0 1 1 *', 'none')],
      { fireSchedule: (fire: ScheduleFire) => void offers.push(fire) as undefined },
      quiet(),
    );
    scheduler.start();
    await new Promise((r) => setTimeout(r, 50));
    const [listed] = scheduler.list();
    await scheduler.stop();
    assert.deepEqual(offers, []);
    assert.equal(new Date(listed!.nextFireAt!).getUTCMonth(), 0);
    assert.ok(listed!.nextFireAt! > Date.now());
    assert.equal(listed!.cron, '0 0 1 1 *');
  });

  it('a failed offer is retried, warned about once, and lands', async () => {
    const offers: ScheduleFire[] = [];
    let failures = 2;
    const log = quiet();
    const scheduler = new TaskScheduler(
      [spec('0 0 1 1 *')],
      {
        fireSchedule: async (fire: ScheduleFire) => {
          if (failures-- > 0) throw new Error('store down');
          offers.push(fire);
          return undefined;
        },
      },
      log,
    );
    scheduler.start();
    while (offers.length < 1) await new Promise((r) => setTimeout(r, 20));
    await scheduler.stop();
    assert.equal(offers[0]!.whenNew, 'record');
    assert.equal(log.warns.length, 1);
    assert.match(log.warns[0]!, /Schedule "report".*store down/);
  });
});
