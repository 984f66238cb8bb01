/**
 * The toolchains Nest apps are built, run and tested with, against the packed
 * package: one project per Nest major, shaped like the one its CLI generates
 * (test/toolchains/nest11: CommonJS + Jest; test/toolchains/nest12: ES
 * modules + Vitest), installed once under the OS temp folder with every
 * toolchain of that major. Each test is a command a user runs in it, and
 * checks that a task ran in a worker thread (or that a mistake fails at once,
 * with the message that says what to do). The README's recipes are these
 * projects' files.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  cpSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { installProject, packRepository, ToolchainProject, type RunningCommand } from '../support/toolchain.project.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const templates = join(root, 'test/toolchains');
const SHA256_HELLO = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';
const TASK_LINE = /task (hash|ping) (\{.*\})/;

let dir: string;
let installs: Promise<{ nest11: ToolchainProject; nest12: ToolchainProject }> | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-toolchains-'));
  const tarball = await packRepository(root, dir);
  // Both majors install at once: npm spends most of that time waiting on the network.
  installs = Promise.all([
    installProject(join(templates, 'nest11'), join(dir, 'nest11'), tarball),
    installProject(join(templates, 'nest12'), join(dir, 'nest12'), tarball),
  ]).then(([nest11, nest12]) => ({ nest11, nest12 }));
  await installs;
});

after(async () => {
  const projects = await installs?.catch(() => undefined);
  await Promise.all([projects?.nest11.stopAll(), projects?.nest12.stopAll(), monorepo?.stopAll()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let monorepo: ToolchainProject | undefined;

/** The task's result, printed by the app's main.ts once the task came back from a worker thread. */
async function taskResult(
  command: RunningCommand,
  count = 1,
): Promise<{ hex?: string; pong?: string; threadId: number }> {
  const match = await command.waitFor(TASK_LINE, { count });
  const result = JSON.parse(match[2]!) as { hex?: string; pong?: string; threadId: number };
  if (match[1] === 'hash') assert.equal(result.hex, SHA256_HELLO);
  else assert.equal(result.pong, 'hello');
  // The main thread's threadId is 0: the task ran in a pool thread.
  assert.ok(result.threadId > 0, `threadId ${result.threadId}`);
  return result;
}

/** Starts `command`, waits for its task line, stops it. */
async function runsTask(project: ToolchainProject, command: string, args: string[], cwd?: string): Promise<void> {
  const running = project.start(command, args, { cwd });
  try {
    await taskResult(running);
  } finally {
    await running.stop();
  }
}

/** Runs `command` expecting it to exit with an error by itself, not to hang; returns its output. */
async function failsAtOnce(project: ToolchainProject, command: string, args: string[]): Promise<string> {
  const running = project.start(command, args);
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    void running.stop();
  }, 60_000);
  const { code, output } = await running.finished;
  clearTimeout(timer);
  assert.equal(hung, false, `still running after 60 s:\n${output}`);
  assert.ok(code !== null && code !== 0, `expected an exit code other than 0, got ${code}:\n${output}`);
  assert.doesNotMatch(output, TASK_LINE);
  return output;
}

/** Single-line view of an output, for matching messages that wrap. */
const flat = (text: string) => text.replace(/\s+/g, ' ');

const TIMEOUT = { timeout: 300_000 };

describe('Nest 11, CommonJS (nest new with @nestjs/cli 11)', () => {
  const project = () => installs!.then((p) => p.nest11);

  it('Jest + ts-jest: `npm run test:e2e` runs a task through the threads', TIMEOUT, async () => {
    const output = await (await project()).run('npm', ['run', 'test:e2e']);
    assert.match(output, /Tests:\s+1 passed, 1 total/);
  });

  it('`nest start` runs the app, and its tasks in threads', TIMEOUT, async () => {
    await runsTask(await project(), 'nest', ['start']);
  });

  it('`nest start --watch` restarts on a change and still runs tasks', TIMEOUT, async () => {
    const nest11 = await project();
    const watch = nest11.start('nest', ['start', '--watch']);
    try {
      await taskResult(watch);
      appendFileSync(join(nest11.dir, 'src/hash/hash.service.ts'), '\n// changed while watching\n');
      await watch.waitFor(/File change detected/);
      await taskResult(watch, 2);
    } finally {
      await watch.stop();
    }
  });

  it('`nest build --webpack` with withTasksEntries(): `node dist/main.js` runs tasks in threads', TIMEOUT, async () => {
    const nest11 = await project();
    await nest11.run('nest', ['build', '--webpack']);
    assert.ok(existsSync(join(nest11.dir, 'dist/hash/hash.tasks.js')), 'the tasks module is emitted next to main.js');
    await runsTask(nest11, 'node', ['dist/main.js']);
  });

  it('a bundled require.resolve() (a module id) fails at bootstrap, naming bundling and the fix', TIMEOUT, async () => {
    const nest11 = await project();
    const restore = nest11.edit(
      'src/app.module.ts',
      "join(__dirname, 'hash/hash.tasks.js')",
      "require.resolve('./hash/hash.tasks')",
    );
    try {
      await nest11.run('nest', ['build', '--webpack']);
      const output = flat(await failsAtOnce(nest11, 'node', ['dist/main.js']));
      assert.match(
        output,
        /option "tasksModule\.file" must be an absolute file path or a file URL, got \d+ \(number\)/,
      );
      assert.match(output, /what a bundler makes of require\.resolve\(\)/);
      assert.match(output, /withTasksEntries\(options\)/);
    } finally {
      restore();
    }
  });

  it(
    'a monorepo (`nest g app`, webpack by default): `node dist/apps/<app>/main.js` runs tasks in threads',
    TIMEOUT,
    async () => {
      const nest11 = await project();
      const repoDir = join(dir, 'nest11-monorepo');
      cpSync(join(templates, 'nest11'), repoDir, { recursive: true });
      symlinkSync(join(nest11.dir, 'node_modules'), join(repoDir, 'node_modules'), 'dir');
      monorepo = new ToolchainProject(repoDir);
      await monorepo.run('nest', ['generate', 'app', 'other']);
      assert.equal(JSON.parse(readFileSync(join(repoDir, 'nest-cli.json'), 'utf8')).compilerOptions.webpack, true);
      await monorepo.run('nest', ['build']);
      await monorepo.run('nest', ['build', 'other']);
      assert.ok(existsSync(join(repoDir, 'dist/apps/toolchain-nest11/hash/hash.tasks.js')));
      assert.deepEqual(
        readdirSync(join(repoDir, 'dist/apps/other')),
        ['main.js'],
        'an app without tasks files gets none',
      );
      await runsTask(monorepo, 'node', ['dist/apps/toolchain-nest11/main.js']);
    },
  );

  it('`nest start -b swc` runs tasks in threads', TIMEOUT, async () => {
    await runsTask(await project(), 'nest', ['start', '-b', 'swc']);
  });

  it('ts-node: `ts-node src/main.ts` — the threads load the same sources', TIMEOUT, async () => {
    await runsTask(await project(), 'ts-node', ['src/main.ts']);
  });

  it('@swc-node/register: `node -r @swc-node/register src/main.ts`', TIMEOUT, async () => {
    await runsTask(await project(), 'node', ['-r', '@swc-node/register', 'src/main.ts']);
  });

  it(
    'one file with bootstrap and tasks (file: __filename) works behind isPoolThread(), and fails at once without it',
    TIMEOUT,
    async () => {
      const nest11 = await project();
      await nest11.run('tsc', ['-p', 'test/single-file']);
      await runsTask(nest11, 'node', ['dist-single/main.js']);
      await singleFileWithoutGuard(nest11, 'if (!isPoolThread()) void bootstrap();', 'void bootstrap();');
    },
  );
});

describe('Nest 12, ES modules (nest new with @nestjs/cli 12)', () => {
  const project = () => installs!.then((p) => p.nest12);

  it(
    'Vitest 4 as generated (Vite 8 emits decorator metadata): `npm run test:e2e` runs a task through the threads',
    TIMEOUT,
    async () => {
      const output = await (await project()).run('npm', ['run', 'test:e2e']);
      assert.match(output, /Tests\s+1 passed \(1\)/);
    },
  );

  it('Vitest 4 + unplugin-swc: the same spec', TIMEOUT, async () => {
    const output = await (await project()).run('vitest', ['run', '--config', './vitest.config.swc.ts']);
    assert.match(output, /Tests\s+1 passed \(1\)/);
  });

  it('`nest start` runs the app, and its tasks in threads', TIMEOUT, async () => {
    await runsTask(await project(), 'nest', ['start']);
  });

  it(
    '`nest build --builder rspack` (how CLI 12 bundles ES modules) with withTasksEntries(): `node dist/main.js` runs tasks in threads',
    TIMEOUT,
    async () => {
      const nest12 = await project();
      await nest12.run('nest', ['build', '--builder', 'rspack']);
      assert.ok(existsSync(join(nest12.dir, 'dist/hash/hash.tasks.js')), 'the tasks module is emitted next to main.js');
      await runsTask(nest12, 'node', ['dist/main.js']);
    },
  );

  it('`nest start -b swc` runs tasks in threads', TIMEOUT, async () => {
    await runsTask(await project(), 'nest', ['start', '-b', 'swc']);
  });

  it('@swc-node/register: `node --import @swc-node/register/esm-register src/main.ts`', TIMEOUT, async () => {
    await runsTask(await project(), 'node', ['--import', '@swc-node/register/esm-register', 'src/main.ts']);
  });

  it('tsx: `tsx src-tsx/main.ts` (dependencies named with @Inject())', TIMEOUT, async () => {
    await runsTask(await project(), 'tsx', ['src-tsx/main.ts']);
  });

  it(
    'one file with bootstrap and tasks (file: import.meta.url) works behind isPoolThread(), and fails at once without it',
    TIMEOUT,
    async () => {
      const nest12 = await project();
      await nest12.run('tsc', ['-p', 'test/single-file']);
      await runsTask(nest12, 'node', ['dist-single/main.js']);
      await singleFileWithoutGuard(nest12, 'if (!isPoolThread()) await bootstrap();', 'await bootstrap();');
    },
  );
});

async function singleFileWithoutGuard(project: ToolchainProject, guarded: string, unguarded: string): Promise<void> {
  const restore = project.edit('test/single-file/main.ts', guarded, unguarded);
  try {
    await project.run('tsc', ['-p', 'test/single-file']);
    const output = flat(await failsAtOnce(project, 'node', ['dist-single/main.js']));
    assert.match(output, /dist-single\/main\.js starts the application when it is loaded/);
    assert.match(output, /if \(!isPoolThread\(\)\) await bootstrap\(\);/);
  } finally {
    restore();
  }
}
