/**
 * Schedules with real worker threads. The in-memory store cannot be shared
 * across processes, so "several processes" here are two WorkerModule apps in
 * one process sharing one InMemoryTaskClient instance: each runs the
 * schedule and offers every tick; the store fires each tick once. The
 * multi-process cases run on PostgreSQL and Redis (their suites).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Module, type Type } from '@nestjs/common';
import {
  InMemoryTaskClient,
  WorkerModule,
  type ScheduleFire,
  type TaskRecord,
  type WorkerModuleOptions,
  type WorkerModuleExtras,
} from '../../lib/index.js';
import { boot, rejectionOf, sleep, until, type BootedApp } from '../support/app.js';
import {
  DecoratedScheduleTasksModule,
  LimitedTasksModule,
  ScheduledTasksModule,
} from '../fixtures/job-control.tasks.js';

const tasksFile = new URL('../fixtures/job-control.tasks.js', import.meta.url);

/** Records every tick offered to the store, and what the store answered. */
class RecordingClient extends InMemoryTaskClient {
  readonly offers: Array<{ key: string; tick: number; whenNew: ScheduleFire['whenNew']; id: string | undefined }> = [];

  override fireSchedule(fire: ScheduleFire): string | undefined {
    const id = super.fireSchedule(fire);
    this.offers.push({ key: fire.key, tick: fire.tick, whenNew: fire.whenNew, id });
    return id;
  }

  fired(key: string): Array<{ tick: number; id: string }> {
    return this.offers.filter((o) => o.key === key && o.id !== undefined) as Array<{ tick: number; id: string }>;
  }
}

async function bootWith(
  tasks: Type,
  options: WorkerModuleOptions & Partial<WorkerModuleExtras>,
  logger: false | ['error'] = ['error'],
): Promise<BootedApp> {
  @Module({
    imports: [tasks, WorkerModule.forRoot({ tasksModule: { module: tasks, file: tasksFile }, workers: 1, ...options })],
  })
  class ScheduleAppModule {}
  return boot(ScheduleAppModule, logger);
}

describe('schedules', () => {
  it('two apps sharing one store fire each tick of a seconds cron once, as ordinary tasks', async () => {
    const client = new RecordingClient();
    const schedules = [{ task: 'sched.tick', cron: '* * * * * *', payload: { label: 'every second' } }];
    const apps = [
      await bootWith(ScheduledTasksModule, { client: { useValue: client }, schedules }),
      await bootWith(ScheduledTasksModule, { client: { useValue: client }, schedules }),
    ];
    try {
      await until(() => client.fired('sched.tick').length >= 4, 20_000, 'four fires');
      for (const { id } of client.fired('sched.tick').slice(0, 2))
        await client.waitFor(id, AbortSignal.timeout(10_000));
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
    const fired = client.fired('sched.tick');
    const ticks = fired.map((f) => f.tick);
    assert.equal(new Set(ticks).size, ticks.length, `one fire per tick, got ticks ${ticks.join(', ')}`);
    for (const tick of ticks) assert.equal(tick % 1000, 0, 'ticks are whole seconds');
    const offersPerTick = new Map<number, number>();
    for (const o of client.offers) offersPerTick.set(o.tick, (offersPerTick.get(o.tick) ?? 0) + 1);
    assert.ok(
      [...offersPerTick.values()].some((n) => n >= 2),
      'both apps offered the same tick',
    );
    // Each fire is an ordinary task: the apps ran it (those fired before the close).
    const records = await Promise.all(fired.slice(0, 2).map((f) => client.get(f.id)!));
    for (const record of records as TaskRecord[]) {
      assert.equal(record.name, 'sched.tick');
      assert.deepEqual(record.payload, { label: 'every second' });
      assert.equal(record.state, 'completed');
      assert.equal(record.result, 'every second:1');
    }
  });

  it('@Task({ schedule }) runs, and WorkerManager.schedules() lists it with its next tick', async () => {
    const client = new RecordingClient();
    const app = await bootWith(DecoratedScheduleTasksModule, { client: { useValue: client } });
    try {
      const [listed] = app.manager.schedules();
      assert.equal(listed!.key, 'sched.decorated');
      assert.equal(listed!.task, 'sched.decorated');
      assert.equal(listed!.timezone, 'Europe/Berlin');
      assert.equal(listed!.catchUp, 'latest');
      await until(() => app.manager.schedules()[0]!.nextFireAt !== undefined, 5000, 'a next tick');
      await until(() => client.fired('sched.decorated').length >= 1, 10_000, 'a fire');
      const [{ id }] = client.fired('sched.decorated');
      const record = await client.waitFor(id!, AbortSignal.timeout(10_000));
      assert.equal(record.result, 'decorated');
    } finally {
      await app.close();
    }
    assert.deepEqual(
      client.offers.filter((o) => o.whenNew === 'record').map((o) => o.id),
      [undefined],
      'a schedule the store has never seen records its latest past tick and does not fire it',
    );
  });

  it('catch-up "latest": after downtime the most recent missed tick fires once, the earlier ones never', async () => {
    const client = new RecordingClient();
    const schedules = [{ task: 'sched.tick', cron: '* * * * * *', payload: { label: 'catch-up' } }];
    const first = await bootWith(ScheduledTasksModule, { client: { useValue: client }, schedules });
    try {
      await until(() => client.fired('sched.tick').length >= 1, 10_000, 'a fire');
    } finally {
      await first.close();
    }
    const lastBefore = Math.max(...client.fired('sched.tick').map((f) => f.tick));
    // Down for at least two ticks.
    await until(() => Date.now() >= lastBefore + 3000, 10_000, 'downtime');
    const offeredBefore = client.offers.length;
    const second = await bootWith(ScheduledTasksModule, { client: { useValue: client }, schedules });
    try {
      await until(() => client.offers.length > offeredBefore, 10_000, 'the catch-up offer');
    } finally {
      await second.close();
    }
    const catchUp = client.offers[offeredBefore]!;
    assert.equal(catchUp.whenNew, 'record');
    assert.ok(catchUp.id, 'the latest missed tick fired');
    assert.ok(catchUp.tick >= lastBefore + 2000, 'it is the latest missed tick, not the first');
    const between = client.fired('sched.tick').filter((f) => f.tick > lastBefore && f.tick < catchUp.tick);
    assert.deepEqual(between, [], 'the earlier missed ticks never fire');
  });

  it('catch-up "none": no past tick is offered at start, only the ticks to come', async () => {
    const client = new RecordingClient();
    const schedules = [{ task: 'sched.tick', cron: '* * * * * *', catchUp: 'none' as const }];
    const app = await bootWith(ScheduledTasksModule, { client: { useValue: client }, schedules });
    try {
      await until(() => client.offers.length >= 1, 10_000, 'an offer');
    } finally {
      await app.close();
    }
    assert.ok(
      client.offers.every((o) => o.whenNew === 'fire'),
      'no tick is offered for catching up',
    );
  });

  it('a bad cron expression, an unknown time zone or an unknown task fails the boot naming the schedule', async () => {
    const cases: Array<[WorkerModuleOptions['schedules'], RegExp]> = [
      [[{ task: 'sched.tick', cron: '61 * * * *' }], /schedules\[0\].*cron.*61 \* \* \* \*/s],
      [[{ task: 'sched.tick', cron: '0 6 * * *', timezone: 'Mars/Olympus' }], /timezone.*Mars\/Olympus.*IANA/s],
      [[{ task: 'sched.nope', cron: '0 6 * * *' }], /schedules\[0\]\.task.*sched\.nope.*sched\.tick/s],
      [
        [
          { task: 'sched.tick', cron: '0 6 * * *' },
          { task: 'sched.tick', cron: '0 7 * * *' },
        ],
        /key "sched\.tick".*own "key"/s,
      ],
      [
        [{ task: 'sched.tick', cron: '0 6 * * *', payload: { n: 1n } }],
        /schedules\[0\].*payload cannot be written as JSON/s,
      ],
    ];
    for (const [schedules, message] of cases) {
      const error = await rejectionOf(bootWith(ScheduledTasksModule, { schedules }, false));
      assert.equal(error.code, 'ERR_WORKER_INVALID_SCHEDULE', error.message);
      assert.match(error.message, message);
    }
  });

  it('a schedule with a client that keeps no schedule markers fails the boot', async () => {
    class NoMarkers extends InMemoryTaskClient {
      declare fireSchedule: never;
      constructor() {
        super();
        Object.defineProperty(this, 'fireSchedule', { value: undefined });
      }
    }
    const error = await rejectionOf(
      bootWith(
        ScheduledTasksModule,
        { client: NoMarkers, schedules: [{ task: 'sched.tick', cron: '0 6 * * *' }] },
        false,
      ),
    );
    assert.equal(error.code, 'ERR_WORKER_SCHEDULES_UNSUPPORTED');
    assert.match(error.message, /"sched\.tick".*fireSchedule\(\).*NoMarkers/s);
  });

  it('an app without schedules lists none and offers nothing', async () => {
    const client = new RecordingClient();
    const app = await bootWith(LimitedTasksModule, { client: { useValue: client } });
    try {
      assert.deepEqual(app.manager.schedules(), []);
      await sleep(50);
      assert.deepEqual(client.offers, []);
    } finally {
      await app.close();
    }
  });
});
