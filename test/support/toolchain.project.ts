/**
 * Projects shaped like the ones the Nest CLI generates, installed once from
 * the packed package, and the commands a user runs in them (`npm run
 * test:e2e`, `nest start`, `node dist/main.js`, `tsx src/main.ts`...), each in
 * its own process group so that everything it starts can be stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const SYSTEM_COMMANDS = new Set(['tar']);

/** What every command gets: no colours to strip, no interactive prompts, an unused port. */
const ENV: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1', PORT: '0' };
delete ENV.NODE_OPTIONS;
delete ENV.NODE_TEST_CONTEXT;

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** A command started by a test: its output so far, and ways to wait for a line or the end. */
export class RunningCommand {
  private text = '';
  private readonly listeners = new Set<() => void>();
  readonly finished: Promise<Finished>;

  constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    const collect = (chunk: Buffer) => {
      this.text += chunk.toString('utf8');
      for (const listener of this.listeners) listener();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.finished = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        for (const listener of this.listeners) listener();
        resolve({ code, signal, output: this.text });
      });
    });
  }

  get output(): string {
    return this.text;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the `count`-th match of `pattern` in the output; rejects when the command ends first or time runs out. */
  waitFor(pattern: RegExp, { count = 1, timeoutMs = 120_000 } = {}): Promise<RegExpExecArray> {
    const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
    return new Promise((resolve, reject) => {
      const check = () => {
        const matches = [...this.text.matchAll(global)];
        if (matches.length >= count) {
          done();
          resolve(matches[count - 1] as RegExpExecArray);
        } else if (!this.running) {
          done();
          reject(new Error(`${this.label} ended before printing ${pattern} (x${count}):\n${this.text}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label} did not print ${pattern} (x${count}) within ${timeoutMs} ms:\n${this.text}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Stops the command and everything it started (its process group); resolves once it has ended. */
  async stop(): Promise<Finished> {
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), 5_000);
    const finished = await this.finished;
    clearTimeout(timer);
    // Children that outlived their parent (a shell's grandchild) are still in the group.
    this.signalGroup('SIGKILL');
    return finished;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.child.pid!, signal);
    } catch {
      // the group is gone
    }
  }
}

/** A project directory with its dependencies installed; every command started in it is stopped by `stopAll()`. */
export class ToolchainProject {
  private readonly started = new Set<RunningCommand>();

  constructor(readonly dir: string) {}

  /** Starts `command` in the project: `node`, a system command (`npm`, `tar`), or a binary of its node_modules/.bin. */
  start(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    const executable =
      command === 'node'
        ? process.execPath
        : command === 'npm'
          ? npm
          : SYSTEM_COMMANDS.has(command)
            ? command
            : join(this.dir, 'node_modules/.bin', command);
    const child = spawn(executable, args, {
      cwd: options.cwd ?? this.dir,
      env: { ...ENV, PATH: `${join(this.dir, 'node_modules/.bin')}:${process.env.PATH}`, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const running = new RunningCommand(`\`${[command, ...args].join(' ')}\``, child);
    this.started.add(running);
    void running.finished.then(() => this.started.delete(running));
    return running;
  }

  /** Runs `command` to its end; rejects with its output when it fails or outlasts `timeoutMs`. */
  async run(
    command: string,
    args: readonly string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
  ): Promise<string> {
    const running = this.start(command, args, options);
    const timer = setTimeout(() => void running.stop(), options.timeoutMs ?? 180_000);
    const { code, signal, output } = await running.finished;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${running.label} failed (${signal ?? `exit code ${code}`}):\n${output}`);
    return output;
  }

  /**
   * Replaces `search` in a project file, failing if it is not there (the
   * template changed); returns what puts the file back.
   */
  edit(file: string, search: string, replacement: string): () => void {
    const path = join(this.dir, file);
    const text = readFileSync(path, 'utf8');
    if (!text.includes(search)) throw new Error(`${file} does not contain ${JSON.stringify(search)}`);
    writeFileSync(path, text.replace(search, replacement));
    return () => writeFileSync(path, text);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.started].map((command) => command.stop()));
  }
}

/**
 * Copies `template` to `dir` and installs its package.json plus the packed
 * package: the same `npm install` a user runs, from the registry (or npm's
 * cache) and the tarball.
 */
export async function installProject(template: string, dir: string, tarball: string): Promise<ToolchainProject> {
  cpSync(template, dir, { recursive: true });
  const project = new ToolchainProject(dir);
  await project.run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], {
    timeoutMs: 600_000,
  });
  return project;
}

/**
 * Packs the repository into `dir`; returns the tarball's path. Packs the
 * dist/ that `npm test` has just built (no prepack build: in a checkout
 * shared by several people, a second build could delete dist/ under another
 * run), and checks both builds made it into the tarball.
 */
export async function packRepository(root: string, dir: string): Promise<string> {
  const packer = new ToolchainProject(root);
  await packer.run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { timeoutMs: 300_000 });
  const tarball = join(
    dir,
    readdirSync(dir).find((name) => name.endsWith('.tgz'))!,
  );
  const listing = await packer.run('tar', ['-tzf', tarball]);
  for (const entry of ['package/dist/esm/index.js', 'package/dist/cjs/index.js', 'package/dist/cjs/webpack.js']) {
    if (!listing.includes(entry)) throw new Error(`${entry} is not in the tarball: build dist/ first (npm run build).`);
  }
  return tarball;
}
