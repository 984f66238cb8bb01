#!/usr/bin/env node
/**
 * `npm run build`: the package's two builds, from the same sources.
 *
 *   dist/esm  ES modules   (`import`; Nest 12 apps, Vitest)
 *   dist/cjs  CommonJS     (`require`; Nest 11 apps, Jest's CommonJS runtime, webpack)
 *
 * Both are plain `tsc` output with their own `.d.ts`. A source file with a
 * `-cjs.cts` twin (today only `internal/package-location`) is replaced by it
 * in the CommonJS build: that twin is the only code that differs.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const finalDir = join(root, process.env.DIST_DIR ?? 'dist');
// Built next to dist/ and swapped in at the end, so a process reading dist/
// (a test, a sample app, another build) never sees it half-written.
const outDir = join(root, `.dist-next-${process.pid}`);
const work = join(root, `.tmp/build-cjs-${process.pid}`);
const tsc = join(root, 'node_modules/typescript/bin/tsc');

function compile(project, extra) {
  const result = spawnSync(process.execPath, [tsc, '-p', project, ...extra], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

rmSync(outDir, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });
process.on('exit', () => {
  rmSync(outDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

compile('tsconfig.build.json', ['--outDir', join(outDir, 'esm')]);

// The CommonJS build compiles a copy of lib/ inside a folder whose
// package.json says "commonjs", so that `module: nodenext` emits require().
cpSync(join(root, 'lib'), join(work, 'lib'), { recursive: true });
for (const file of walk(join(work, 'lib'))) {
  if (!file.endsWith('-cjs.cts')) continue;
  const twin = file.replace(/-cjs\.cts$/, '.ts');
  if (!existsSync(twin)) throw new Error(`${relative(work, file)} has no ES module twin ${relative(work, twin)}`);
  renameSync(file, twin);
}
writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'commonjs' }));
writeFileSync(
  join(work, 'tsconfig.json'),
  JSON.stringify({
    extends: join(root, 'tsconfig.build.json'),
    compilerOptions: {
      rootDir: 'lib',
      outDir: join(outDir, 'cjs'),
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
    },
    include: ['lib/**/*.ts', 'lib/**/*.mts'],
    exclude: ['lib/**/*.spec.ts'],
  }),
);
compile(join(work, 'tsconfig.json'), []);
// Maps of both builds name the same sources (lib/...), not the temporary copy.
for (const file of walk(join(outDir, 'cjs'))) {
  if (!file.endsWith('.map')) continue;
  const map = JSON.parse(readFileSync(file, 'utf8'));
  map.sources = map.sources.map((source) => source.replace(`.tmp/build-cjs-${process.pid}/lib/`, 'lib/'));
  writeFileSync(file, JSON.stringify(map));
}
writeFileSync(join(outDir, 'cjs/package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
writeFileSync(join(outDir, 'esm/package.json'), JSON.stringify({ type: 'module' }) + '\n');
// Files tsc does not emit that both builds ship: the gRPC service definition,
// and the dashboard's page (static HTML, script and style: no build step).
const pageDir = join(root, 'lib/dashboard/page');
for (const file of walk(join(root, 'lib'))) {
  if (!file.endsWith('.proto') && !file.startsWith(pageDir + '/')) continue;
  for (const build of ['esm', 'cjs']) cpSync(file, join(outDir, build, relative(join(root, 'lib'), file)));
}
rmSync(work, { recursive: true, force: true });
const old = `${finalDir}.old-${process.pid}`;
if (existsSync(finalDir)) renameSync(finalDir, old);
renameSync(outDir, finalDir);
rmSync(old, { recursive: true, force: true });
