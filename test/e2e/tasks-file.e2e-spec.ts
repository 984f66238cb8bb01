/**
 * How worker threads find and load the tasks module's file: TypeScript
 * sources compiled in the threads with the app's own compiler (here this
 * repository's `typescript`; the toolchain suite covers `@swc/core`), the
 * `x.js` → `x.ts` fallback that lets one `file` serve sources and builds, and
 * the messages for each way it can go wrong.
 *
 * The main thread never loads the file: it knows the tasks module only by
 * class name, so these apps pass a class of the same name, as a test runner
 * or a bundler holding its own copy of the class would.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TasksModuleLoadError, WorkerManager, WorkerModule, type TasksModuleRef } from '../../lib/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const sources = join(root, 'test/toolchains/sources');

class GreetingTasksModule {}

async function boot(tasksModule: Omit<TasksModuleRef, 'module'> & { module?: TasksModuleRef['module'] }) {
  @Module({
    imports: [WorkerModule.forRoot({ tasksModule: { module: GreetingTasksModule, ...tasksModule }, workers: 1 })],
  })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
  try {
    await app.init();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}

async function bootFailure(tasksModule: Parameters<typeof boot>[0]): Promise<TasksModuleLoadError> {
  let app: INestApplicationContext | undefined;
  try {
    app = await boot(tasksModule);
  } catch (error) {
    // Whichever side noticed it (a thread's error arrives wrapped, naming the
    // module it was booting, with the thread's error as its cause).
    assert.ok(error instanceof TasksModuleLoadError, `expected a TasksModuleLoadError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_WORKER_TASKS_MODULE_LOAD');
    return error;
  }
  await app.close();
  assert.fail('app.init() succeeded');
}

/** Single-line view of a message, for matching text that names paths. */
const flat = (text: string) => text.replace(/\s+/g, ' ');

describe('tasks module files: TypeScript sources in the threads', () => {
  let app: INestApplicationContext | undefined;
  after(() => app?.close());

  it('loads an ES module tree from its .ts sources when `file` names the .js it compiles to', async () => {
    app = await boot({ file: new URL('esm/greeting.tasks.js', pathToFileURL(`${sources}/`)) });
    const greeting = await app.get(WorkerManager).run<{ text: string; threadId: number }>('greet', 'thread');
    // GreetingService reached the task through constructor injection by type:
    // the threads' compiler emitted decorator metadata.
    assert.equal(greeting.text, 'hello, thread');
    assert.notEqual(greeting.threadId, threadId);
  });

  it("points a thread's stack traces into the .ts source", async () => {
    const error = await app!
      .get(WorkerManager)
      .run('fail')
      .then(
        () => assert.fail('the task succeeded'),
        (e: unknown) => e as Error,
      );
    assert.equal(error.message, 'failed in the TypeScript source');
    assert.match(error.stack ?? '', /greeting\.tasks\.ts:23:\d+/);
    await app!.close();
    app = undefined;
  });

  it('loads a CommonJS tree from .cts sources (require() with `./x.cjs` imports)', async () => {
    app = await boot({ file: join(sources, 'cjs/greeting.tasks.cjs') });
    const greeting = await app.get(WorkerManager).run<{ text: string }>('greet', 'commonjs');
    assert.equal(greeting.text, 'hello, commonjs');
    await app.close();
    app = undefined;
  });

  it('accepts a path without extension, as `join(__dirname, "x.tasks")`', async () => {
    app = await boot({ file: join(sources, 'esm/greeting.tasks') });
    assert.equal((await app.get(WorkerManager).run<{ text: string }>('greet', 'again')).text, 'hello, again');
    await app.close();
    app = undefined;
  });
});

describe('tasks module files: what goes wrong, and what the message says', () => {
  const temp: string[] = [];
  after(() => temp.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('a module id from a bundled require.resolve() names bundling and withTasksEntries()', async () => {
    for (const [file, shown] of [
      [42, '42 (number)'],
      ['./src/greeting.tasks.ts', '"./src/greeting.tasks.ts"'],
    ] as const) {
      const error = await bootFailure({ file: file as never });
      assert.match(
        flat(error.message),
        /^WorkerModule option "tasksModule\.file" must be an absolute file path or a file URL/,
      );
      assert.ok(error.message.includes(`got ${shown}.`), error.message);
      assert.match(error.message, /what a bundler makes of require\.resolve\(\)/);
      assert.match(error.message, /withTasksEntries\(options\)/);
    }
  });

  it('a file that exists neither compiled nor as a source names both', async () => {
    const missing = join(sources, 'esm/nowhere.tasks.js');
    const error = await bootFailure({ file: missing });
    assert.ok(
      error.message.includes(
        `names ${missing}, which does not exist (nor does ${join(sources, 'esm/nowhere.tasks.ts')})`,
      ),
    );
    assert.match(error.message, /build the project first/);
  });

  it('an export that is not there lists what the file exports', async () => {
    const error = await bootFailure({ file: join(sources, 'esm/greeting.tasks.ts'), exportName: 'GreetingTaskModule' });
    assert.match(
      error.message,
      /has no export named "GreetingTaskModule"; it exports "GreetingTasks", "GreetingTasksModule"/,
    );
    assert.match(error.message, /set "tasksModule\.exportName"/);
  });

  it('an export holding something else than the tasks module says what it holds', async () => {
    class ReportTasksModule {}
    const error = await bootFailure({
      module: ReportTasksModule,
      file: join(sources, 'esm/greeting.tasks.ts'),
      exportName: 'GreetingTasks',
    });
    assert.match(
      error.message,
      /Export "GreetingTasks" of .* is the class or function GreetingTasks, not the tasks module ReportTasksModule/,
    );
  });

  it('a .ts file with no compiler installed where it lives says what to install', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-no-compiler-'));
    temp.push(dir);
    cpSync(join(sources, 'esm'), dir, { recursive: true });
    const error = await bootFailure({ file: join(dir, 'greeting.tasks.ts') });
    assert.match(flat(error.message), /neither "@swc\/core" nor "typescript" can be found from its folder/);
    assert.match(error.message, /npm install --save-dev typescript/);
  });
});
