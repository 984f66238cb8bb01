/**
 * One subject in one fresh child process (`fork`), so no subject's heap,
 * threads or JIT state skew another's and RSS is its own. The program
 * answers once over IPC (bench/lib/subject.mjs) and exits.
 */
import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { benchPath, buildPath, rootPath } from '../lib/paths.mjs';
import { log } from './log.mjs';

const LIMIT_MS = 30 * 60_000;

/** Resolves { result | skipped | error, seconds }; never rejects. `signal` kills the child (Ctrl-C). */
export function runChild(id, spec, args, { profile = false, signal } = {}) {
  return new Promise((resolve) => {
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
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      signal,
    });
    let message;
    child.on('error', (error) => (message ??= { ok: false, error: error.message }));
    const limit = setTimeout(() => {
      log(`  ! ${id}: no answer after ${LIMIT_MS / 60_000} min, killing it`);
      child.kill('SIGKILL');
    }, LIMIT_MS);
    child.on('message', (m) => (message = m));
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      const seconds = (Date.now() - started) / 1000;
      if (!message) resolve({ error: `exited (${signal ?? code}) without a result`, seconds });
      else if (message.ok) resolve({ result: message.result, seconds });
      else if (message.skipped) resolve({ skipped: message.skipped, seconds });
      else resolve({ error: message.error, seconds });
    });
  });
}
