/**
 * One subject in one fresh child process (`fork`), so no subject's heap,
 * threads or JIT state skew another's and RSS is its own. The program
 * answers once over IPC (bench/lib/subject.mjs) and exits. An interleaved
 * subject also says 'idle' whenever it waits for its next round (see
 * harness/interleave.mjs).
 */
import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { benchPath, buildPath, rootPath } from '../lib/paths.mjs';
import { log } from './log.mjs';

const LIMIT_MS = 30 * 60_000;

/**
 * Starts the subject. `done` resolves { result | skipped | error, seconds }
 * and never rejects; `onIdle(fn)` hears the 'idle' messages of an interleaved
 * subject; `send(message)` talks to it. `signal` kills the child (Ctrl-C).
 */
export function startChild(id, spec, args, { profile = false, signal, interleaved = false } = {}) {
  const execArgv = [];
  if (profile && spec.ours) {
    // Worker threads inherit --cpu-prof through the pool's default execArgv: one profile per thread.
    const dir = join(buildPath, 'profiles', id);
    mkdirSync(dir, { recursive: true });
    execArgv.push('--cpu-prof', '--cpu-prof-dir', dir);
  }
  const started = Date.now();
  const child = fork(join(benchPath, spec.program), [JSON.stringify(args)], {
    cwd: rootPath,
    execArgv,
    env: interleaved ? { ...process.env, BENCH_INTERLEAVED: '1' } : process.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    signal,
  });
  let idle = () => undefined;
  const done = new Promise((resolve) => {
    let message;
    child.on('error', (error) => (message ??= { ok: false, error: error.message }));
    const limit = setTimeout(() => {
      log(`  ! ${id}: no answer after ${LIMIT_MS / 60_000} min, killing it`);
      child.kill('SIGKILL');
    }, LIMIT_MS);
    child.on('message', (m) => {
      if (m?.kind === 'idle') idle();
      else message = m;
    });
    child.on('exit', (code, exitSignal) => {
      clearTimeout(limit);
      const seconds = (Date.now() - started) / 1000;
      if (!message) resolve({ error: `exited (${exitSignal ?? code}) without a result`, seconds });
      else if (message.ok) resolve({ result: message.result, seconds });
      else if (message.skipped) resolve({ skipped: message.skipped, seconds });
      else resolve({ error: message.error, seconds });
    });
  });
  return {
    done,
    onIdle: (fn) => (idle = fn),
    send: (message) => child.connected && child.send(message),
  };
}

export function runChild(id, spec, args, options) {
  return startChild(id, spec, args, options).done;
}
