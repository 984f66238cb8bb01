import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoggerService } from '@nestjs/common';
import { PermitGate } from '../../lib/loop/permit.gate.js';
import type {
  PermitAnswer,
  PermitRequest,
  RegisteredTask,
  TaskClient,
  TaskEnvelope,
} from '../../lib/interfaces/task-client.interface.js';

const task = (id: string, name: string, concurrencyKey?: string): TaskEnvelope => ({
  id,
  name,
  payload: null,
  attempt: 1,
  ...(concurrencyKey !== undefined ? { concurrencyKey } : {}),
});

function logger(): LoggerService & { warns: string[]; logs: string[] } {
  const warns: string[] = [];
  const logs: string[] = [];
  return { warns, logs, log: (m: string) => logs.push(m), warn: (m: string) => warns.push(m), error: () => undefined };
}

/** A client answering from a queue of scripted answers (or throwing), recording what it was asked. */
function client(answer: (requests: readonly PermitRequest[]) => PermitAnswer[]) {
  const asked: PermitRequest[][] = [];
  const c: TaskClient = {
    fetch: async () => [],
    publish: async () => undefined,
    acquirePermits: async (requests) => {
      asked.push([...requests]);
      return answer(requests);
    },
  };
  return { client: c, asked };
}

const tasks: RegisteredTask[] = [
  { name: 'keyed', maxAttempts: 1, concurrencyPerKey: 2 },
  { name: 'rated', maxAttempts: 1, rateLimit: { max: 4, intervalMs: 1000 } },
  { name: 'plain', maxAttempts: 1 },
];
const noJitter = () => 0;

describe('PermitGate', () => {
  it('is not made when no task has limits: nothing is paid', () => {
    const { client: c } = client(() => []);
    assert.equal(PermitGate.create(c, [{ name: 'plain', maxAttempts: 1 }], logger()), undefined);
  });

  it('refuses limits a client cannot enforce, naming the tasks', () => {
    const bare: TaskClient = { fetch: async () => [], publish: async () => undefined };
    assert.throws(
      () => PermitGate.create(bare, tasks, logger()),
      (error: Error & { code?: string }) =>
        error.code === 'ERR_WORKER_TASK_LIMITS_UNSUPPORTED' && /"keyed", "rated"/.test(error.message),
    );
  });

  it('selects the deliveries that need permits: rate-limited ones, and keyed ones with a concurrencyKey', () => {
    const { client: c } = client(() => []);
    const gate = PermitGate.create(c, tasks, logger())!;
    const fetched = [task('1', 'keyed', 'a'), task('2', 'keyed'), task('3', 'rated'), task('4', 'plain')];
    assert.deepEqual(
      gate.select(fetched).map((t) => t.id),
      ['1', '3'],
    );
  });

  it('asks once per batch with each task’s limits, admits the granted, defers the denied', async () => {
    const { client: c, asked } = client((requests) =>
      requests.map((_, i) => (i === 0 ? { granted: true } : { granted: false, retryAfterMs: 200 })),
    );
    const gate = PermitGate.create(c, tasks, logger(), noJitter)!;
    const decision = await gate.decide([task('1', 'keyed', 'a'), task('2', 'rated')]);
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0]![0], { task: task('1', 'keyed', 'a'), concurrencyPerKey: 2 });
    assert.deepEqual(asked[0]![1], { task: task('2', 'rated'), rateLimit: { max: 4, intervalMs: 1000 } });
    assert.deepEqual(
      decision.admit.map((t) => t.id),
      ['1'],
    );
    assert.deepEqual(decision.defer, [{ task: task('2', 'rated'), delayMs: 200 }]);
  });

  it('spreads the rate denials of one batch over the window: one slot (interval / max) apart', async () => {
    const { client: c } = client((requests) => requests.map(() => ({ granted: false, retryAfterMs: 100 })));
    const gate = PermitGate.create(c, tasks, logger(), noJitter)!;
    const { defer } = await gate.decide([task('1', 'rated'), task('2', 'rated'), task('3', 'rated')]);
    assert.deepEqual(
      defer.map((d) => d.delayMs),
      [100, 350, 600],
    );
  });

  it('a key’s denial waits half the task’s typical run time, within 20 ms to 2 s, and never less than the store said', async () => {
    let retryAfterMs = 1;
    const { client: c } = client((requests) => requests.map(() => ({ granted: false, retryAfterMs })));
    const gate = PermitGate.create(c, tasks, logger(), noJitter)!;
    const waitOf = async () => (await gate.decide([task('1', 'keyed', 'a')])).defer[0]!.delayMs;
    assert.equal(await waitOf(), 100, 'nothing measured yet');
    gate.ran('keyed', 400);
    assert.equal(await waitOf(), 200);
    for (let i = 0; i < 50; i++) gate.ran('keyed', 1);
    assert.equal(await waitOf(), 20, 'the floor');
    for (let i = 0; i < 80; i++) gate.ran('keyed', 60_000);
    assert.equal(await waitOf(), 2000, 'the ceiling');
    retryAfterMs = 5000;
    assert.equal(await waitOf(), 5000, 'the store’s hint when longer');
  });

  it('jitter adds at most 10%, and a bad retryAfterMs still gives a positive wait', async () => {
    const { client: c } = client((requests) =>
      requests.map((_, i) => ({ granted: false, retryAfterMs: i === 0 ? 1000 : (Number.NaN as number) })),
    );
    const gate = PermitGate.create(c, tasks, logger(), () => 0.999)!;
    const { defer } = await gate.decide([task('1', 'rated'), task('2', 'plain')].slice(0, 1));
    assert.ok(defer[0]!.delayMs >= 1000 && defer[0]!.delayMs <= 1100);
    const { defer: bad } = await PermitGate.create(
      client(() => [{ granted: false, retryAfterMs: Number.NaN }]).client,
      tasks,
      logger(),
      noJitter,
    )!.decide([task('1', 'rated')]);
    assert.ok(bad[0]!.delayMs >= 1);
  });

  it('a failed ask defers every delivery (nothing fails), warns once per outage and says when it works again', async () => {
    let failing = true;
    const { client: c } = client((requests) => {
      if (failing) throw new Error('store down');
      return requests.map(() => ({ granted: true }));
    });
    const log = logger();
    const gate = PermitGate.create(c, tasks, log, noJitter)!;
    for (let i = 0; i < 3; i++) {
      const { admit, defer } = await gate.decide([task('1', 'keyed', 'a'), task('2', 'rated')]);
      assert.deepEqual(admit, []);
      assert.deepEqual(
        defer.map((d) => d.delayMs),
        [1000, 1000],
      );
    }
    assert.equal(log.warns.length, 1);
    assert.match(log.warns[0]!, /store down/);
    failing = false;
    assert.equal((await gate.decide([task('1', 'keyed', 'a')])).admit.length, 1);
    assert.equal(log.logs.length, 1);
  });

  it('an answer list of the wrong length counts as a failed ask', async () => {
    const { client: c } = client(() => [{ granted: true }]);
    const log = logger();
    const gate = PermitGate.create(c, tasks, log, noJitter)!;
    const { admit, defer } = await gate.decide([task('1', 'rated'), task('2', 'rated')]);
    assert.deepEqual(admit, []);
    assert.equal(defer.length, 2);
    assert.match(log.warns[0]!, /1 answer\(s\) for 2 request\(s\)/);
  });
});
