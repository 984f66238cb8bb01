import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Inject, Injectable, Module, Scope } from '@nestjs/common';
import {
  DuplicateTaskError,
  InvalidWorkerOptionsError,
  ScopedTaskProviderError,
  Task,
  TasksModuleLoadError,
  WorkerBootError,
  WorkerManager,
  WorkerModule,
  WorkerShutdownError,
  type WorkerEvent,
  type WorkerModuleOptions,
} from '../../lib/index.js';
import { BrokenTasksModule } from '../fixtures/broken.tasks.js';
import { ChaosTasksModule } from '../fixtures/chaos.tasks.js';
import { double, shout } from '../fixtures/function.tasks.js';
import { RecursiveAppModule } from '../fixtures/recursive.app.js';
import { boot, bootChaosApp, chaosTasksFile, rejectionOf } from '../support/app.js';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);

async function bootFailure(module: unknown): Promise<Error & Record<string, any>> {
  return rejectionOf(boot(module, false));
}

describe('bootstrap: tasks are found and threads warmed before app.init() resolves', () => {
  it('fails on a duplicate task name, naming both classes', async () => {
    @Injectable()
    class InvoiceTasks {
      @Task('render')
      render() {}
    }
    @Injectable()
    class ReportTasks {
      @Task('render')
      render() {}
    }
    @Module({ imports: [WorkerModule.forRoot({ workers: 1 })], providers: [InvoiceTasks, ReportTasks] })
    class AppModule {}
    const error = await bootFailure(AppModule);
    assert.ok(error instanceof DuplicateTaskError, error.message);
    assert.equal(error.code, 'ERR_WORKER_DUPLICATE_TASK');
    assert.match(
      error.message,
      /Task "render" is declared twice: by InvoiceTasks\.render \(AppModule\) and by ReportTasks\.render \(AppModule\)/,
    );
  });

  it('refuses a request-scoped task provider', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequestTasks {
      @Task('per-request')
      run() {}
    }
    @Module({ imports: [WorkerModule.forRoot({ workers: 1 })], providers: [PerRequestTasks] })
    class AppModule {}
    const error = await bootFailure(AppModule);
    assert.ok(error instanceof ScopedTaskProviderError, error.message);
    assert.match(error.message, /PerRequestTasks declares @Task\(\) handlers but is request-scoped/);
  });

  it('fails when the tasks module is not exported from the file it names', async () => {
    @Module({})
    class NotThere {}
    @Module({
      imports: [WorkerModule.forRoot({ workers: 1, tasksModule: { module: NotThere, file: chaosTasksFile } })],
    })
    class AppModule {}
    const error = await bootFailure(AppModule);
    // The threads load the file: the error says which file and module the
    // thread was booting, with the thread's own error as its cause, and has
    // the class of a file the main thread could not find.
    assert.ok(error instanceof TasksModuleLoadError, error.message);
    assert.equal(error.code, 'ERR_WORKER_TASKS_MODULE_LOAD');
    assert.match(error.message, /could not boot the tasks module "NotThere"/);
    assert.ok(error.cause instanceof TasksModuleLoadError, String(error.cause));
    assert.match(
      error.cause.message,
      /chaos\.tasks\.js has no export named "NotThere"; it exports .*"ChaosTasksModule"/,
    );
  });

  it('fails when the file cannot be loaded, with the file and the fix', async () => {
    @Module({
      imports: [
        WorkerModule.forRoot({
          workers: 1,
          tasksModule: { module: ChaosTasksModule, file: fixture('missing.tasks.js') },
        }),
      ],
    })
    class AppModule {}
    const error = await bootFailure(AppModule);
    assert.ok(error instanceof TasksModuleLoadError, error.message);
    assert.match(error.message, /"tasksModule\.file" names .*missing\.tasks\.js, which does not exist/);
    assert.match(error.message, /build the project first/);
  });

  it('fails when a task discovered in the app is missing from the threads, naming task, file and export', async () => {
    @Injectable()
    class OnlyInMain {
      @Task('only-in-main')
      run() {}
    }
    @Module({
      imports: [
        ChaosTasksModule,
        WorkerModule.forRoot({ workers: 1, tasksModule: { module: ChaosTasksModule, file: chaosTasksFile } }),
      ],
      providers: [OnlyInMain],
    })
    class AppModule {}
    const error = await bootFailure(AppModule);
    assert.ok(error instanceof WorkerBootError, error.message);
    assert.match(
      error.message,
      /"only-in-main" were discovered in the application but not in the worker threads' context booted from "ChaosTasksModule" \(.*chaos\.tasks\.js\)/,
    );
  });

  it("fails when the threads cannot boot the tasks module, with the provider's error", async () => {
    @Module({
      imports: [
        WorkerModule.forRoot({
          workers: 1,
          tasksModule: { module: BrokenTasksModule, file: fixture('broken.tasks.js') },
        }),
      ],
    })
    class AppModule {}
    const error = await bootFailure(AppModule);
    assert.ok(error instanceof WorkerBootError, error.message);
    assert.match(
      error.message,
      /could not boot the tasks module "BrokenTasksModule" from .*broken\.tasks\.js: .*database unreachable/,
    );
  });

  it('fails at once, not at startupTimeoutMs, when the threads die while booting', async () => {
    @Module({
      imports: [
        WorkerModule.forRoot({
          workers: 1,
          tasksModule: { module: ChaosTasksModule, file: chaosTasksFile },
          execArgv: ['--import', 'data:text/javascript,throw new Error("loader exploded")'],
          startupTimeoutMs: 60_000,
        }),
      ],
    })
    class AppModule {}
    const started = Date.now();
    const error = await bootFailure(AppModule);
    assert.ok(error instanceof WorkerBootError, error.message);
    assert.match(error.message, /A worker thread died while booting: .*loader exploded/);
    assert.ok(Date.now() - started < 20_000);
  });

  it('validates options with a message naming the option and the fix', async () => {
    @Module({
      imports: [WorkerModule.forRoot({ workers: 0, tasksModule: { module: ChaosTasksModule, file: chaosTasksFile } })],
    })
    class AppModule {}
    const error = await bootFailure(AppModule);
    assert.ok(error instanceof InvalidWorkerOptionsError, error.message);
    assert.match(error.message, /WorkerModule option "workers" must be an integer >= 1, got 0\. Set "workers"/);
  });

  it('boots a module that imports WorkerModule itself without starting a pool inside the threads', async () => {
    const booted = await boot(RecursiveAppModule);
    try {
      const answer = await booted.manager.run<string>('nested-run');
      assert.match(answer, /^ERR_WORKER_IN_WORKER_THREAD: WorkerManager\.run\(\) was called inside a worker thread/);
      assert.equal(booted.manager.stats().workers.size, 1);
    } finally {
      await booted.close();
    }
  });
});

describe('forRootAsync and plain function tasks', () => {
  @Injectable()
  class WorkerConfig {
    readonly workers = 1;
  }
  @Module({ providers: [WorkerConfig], exports: [WorkerConfig] })
  class ConfigModule {}

  it('takes options from useFactory with inject', async () => {
    @Module({
      imports: [
        ChaosTasksModule,
        WorkerModule.forRootAsync({
          imports: [ConfigModule],
          inject: [WorkerConfig],
          useFactory: (config: WorkerConfig): WorkerModuleOptions => ({
            tasksModule: { module: ChaosTasksModule, file: chaosTasksFile },
            workers: config.workers,
          }),
        }),
      ],
    })
    class AppModule {}
    const booted = await boot(AppModule);
    try {
      assert.equal(await booted.manager.run('add', { a: 40, b: 2 }), 42);
      assert.equal(booted.manager.stats().workers.size, 1);
    } finally {
      await booted.close();
    }
  });

  it('takes options from useClass', async () => {
    @Injectable()
    class WorkerOptionsFactory {
      createWorkerOptions(): WorkerModuleOptions {
        return { tasksModule: { module: ChaosTasksModule, file: chaosTasksFile }, workers: 1 };
      }
    }
    @Module({ imports: [ChaosTasksModule, WorkerModule.forRootAsync({ useClass: WorkerOptionsFactory })] })
    class AppModule {}
    const booted = await boot(AppModule);
    try {
      assert.equal(await booted.manager.run('add', { a: 1, b: 2 }), 3);
    } finally {
      await booted.close();
    }
  });

  it('runs plain module-level functions as tasks, without a tasks module', async () => {
    const file = fixture('function.tasks.js');
    @Module({
      imports: [
        WorkerModule.forRoot({
          workers: 1,
          functions: [
            { name: 'double', handler: double, file },
            { name: 'shout', handler: shout, file, options: { timeoutMs: 1000 } },
          ],
        }),
      ],
    })
    class AppModule {}
    const booted = await boot(AppModule);
    try {
      assert.deepEqual(await booted.manager.run('double', 21), { value: 42, name: 'double' });
      assert.equal(await booted.manager.run('shout', 'hi'), 'HI');
    } finally {
      await booted.close();
    }
  });

  it('lets any provider inject WorkerManager (the module is global by default)', async () => {
    @Injectable()
    class ReportService {
      constructor(@Inject(WorkerManager) readonly manager: WorkerManager) {}
    }
    @Module({ providers: [ReportService] })
    class FeatureModule {}
    const booted = await bootChaosApp({ imports: [FeatureModule], worker: { workers: 1 } });
    try {
      assert.equal(booted.app.get(ReportService).manager, booted.manager);
    } finally {
      await booted.close();
    }
  });
});

describe('worker recycling', () => {
  it('replaces a thread after maxTasksPerWorker tasks', async () => {
    const booted = await bootChaosApp({ worker: { workers: 1, maxTasksPerWorker: 3, batching: { enabled: false } } });
    const events: WorkerEvent[] = [];
    const sub = booted.manager.events$.subscribe((e) => events.push(e));
    try {
      const threads = new Set<number>();
      for (let i = 0; i < 10; i++) threads.add((await booted.manager.run<{ threadId: number }>('whoami')).threadId);
      assert.ok(threads.size >= 3, `ran on ${threads.size} thread(s)`);
      assert.ok(events.some((e) => e.type === 'worker.recycled'));
    } finally {
      sub.unsubscribe();
      await booted.close();
    }
  });

  it('replaces a thread whose heap passes maxHeapMbPerWorker', async () => {
    const booted = await bootChaosApp({ worker: { workers: 1, maxHeapMbPerWorker: 40, batching: { enabled: false } } });
    try {
      const counts: number[] = [];
      for (let i = 0; i < 8; i++) counts.push(await booted.manager.run<number>('retain'));
      // Each call keeps 16 MB more in its thread; a fresh thread starts the count at 1 again.
      assert.ok(
        counts.some((n, i) => i > 0 && n <= counts[i - 1]!),
        `retained counts ${counts.join(',')}`,
      );
      assert.ok(Math.max(...counts) <= 4, `retained counts ${counts.join(',')}`);
    } finally {
      await booted.close();
    }
  });
});

describe('shutdown', () => {
  let dir: string;
  let marker: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-shutdown-'));
    marker = join(dir, 'marker.txt');
    writeFileSync(marker, '');
    process.env.NESTJS_WORKER_TEST_MARKER = marker;
  });
  afterEach(() => {
    delete process.env.NESTJS_WORKER_TEST_MARKER;
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets in-flight tasks finish, then closes every thread context so its hooks run', async () => {
    const booted = await bootChaosApp({ worker: { workers: 2 } });
    const inFlight = Array.from({ length: 4 }, (_, i) => booted.manager.run('sleep', { ms: 200 + i }));
    await new Promise((r) => setTimeout(r, 20));
    await booted.close();
    assert.deepEqual(await Promise.all(inFlight), [200, 201, 202, 203]);
    const lines = readFileSync(marker, 'utf8').trim().split('\n');
    // Thread 0 is the main thread: the app imports ChaosTasksModule too.
    const threads = (hook: string) =>
      new Set(lines.filter((l) => l.startsWith(`${hook} `) && l !== `${hook} 0`).map((l) => l.split(' ')[1]));
    const destroyed = threads('destroy');
    const shutdown = threads('shutdown');
    assert.equal(destroyed.size, 2, lines.join('|'));
    assert.equal(shutdown.size, 2, lines.join('|'));
    const error = await rejectionOf(booted.manager.run('add', { a: 1, b: 1 }));
    assert.ok(error instanceof WorkerShutdownError);
  });

  it('stops tasks still running at shutdownTimeoutMs, and close() does not hang', async () => {
    const booted = await bootChaosApp({ worker: { workers: 1, shutdownTimeoutMs: 200 } });
    const stuck = rejectionOf(booted.manager.run('spin', undefined, { timeoutMs: 0 }));
    const sleeping = rejectionOf(booted.manager.run('sleep', { ms: 60_000 }, { timeoutMs: 0 }));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await booted.close();
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `close took ${elapsed} ms`);
    for (const pending of [stuck, sleeping]) {
      const error = await pending;
      assert.ok(error instanceof WorkerShutdownError, `${error.name}: ${error.message}`);
    }
  });

  it('leaves no handles behind after app.close()', async () => {
    const count = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const before = count();
    const booted = await bootChaosApp({ worker: { workers: 2 } });
    await booted.manager.run('add', { a: 1, b: 2 });
    await rejectionOf(booted.manager.run('exit'));
    await booted.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(count() <= before, `before ${before}, after ${count()}: ${process.getActiveResourcesInfo().join(', ')}`);
  });

  it('on SIGTERM with enableShutdownHooks(), finishes the task in flight and runs the thread hooks', async () => {
    const child = spawn(process.execPath, [fileURLToPath(fixture('sigterm.app.js'))], {
      env: { ...process.env, NESTJS_WORKER_TEST_MARKER: marker },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    const elapsed = Date.now() - started;
    // Nest re-raises the signal after closing the app, so the process ends by SIGTERM.
    assert.ok(code === 0 || signal === 'SIGTERM', `exit ${code} ${signal}`);
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
    const lines = readFileSync(marker, 'utf8');
    assert.match(lines, /^result 600$/m);
    assert.equal(lines.match(/^shutdown [1-9]/gm)?.length, 2, lines);
  });
});
