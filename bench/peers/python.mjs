/**
 * Runs a Python peer (bench/python/*.py, stdlib only) in a fresh python3
 * process and returns what it printed. Skipped when python3 is missing.
 * mode "memory" starts one python process per probe (a fresh pool each).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Skip, subjectMain } from '../lib/subject.mjs';

const pythonDir = fileURLToPath(new URL('../python/', import.meta.url));
const python = process.env.PYTHON ?? 'python3';

function runPython(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, JSON.stringify(args)], {
      cwd: pythonDir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', (error) => reject(new Skip(`${python} not runnable: ${error.message}`)));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${out.slice(-500)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (error) {
        reject(new Error(`${script} printed no JSON: ${out.slice(-500)}`));
      }
    });
  });
}

subjectMain(async ({ script, rounds, ...args }) => {
  const probe = spawnSync(python, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Skip(`${python} not found`);
  if (args.mode === 'memory') {
    const one = async () => (await runPython(script, args)).probe;
    const warmup = await one();
    const measured = [];
    for (let i = 0; i < rounds; i++) measured.push(await one());
    return { warmup, rounds: measured };
  }
  return runPython(script, { ...args, rounds });
});
