/**
 * What the subjects load, built before anything runs.
 *
 * The library: lib/ compiled with the package's own ES module settings
 * (tsconfig.build.json, as `npm run build` makes dist/esm) into a private
 * snapshot, bench/node_modules/nestjs-worker, with the package's exports
 * map. bench/package.json makes bench/ a package scope of its own, so
 * `import 'nestjs-worker'` from bench files resolves to the snapshot rather
 * than to the root's dist/: in a checkout shared with others, `npm run build`
 * empties dist/ while it rebuilds, and a run of half an hour would lose its
 * library under it.
 *
 * The fixtures: bench/fixtures/*.ts and test/support/services.ts compiled by
 * tsc into bench/.build (decorator metadata, which Nest DI needs, so no type
 * stripping).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPath, benchPath, rootPath, snapshotPath } from '../lib/paths.mjs';
import { UsageError } from './cli.mjs';
import { log } from './log.mjs';

const tsc = join(rootPath, 'node_modules/typescript/bin/tsc');
const stampFile = join(snapshotPath, 'snapshot.json');

function git(args) {
  const result = spawnSync('git', args, { cwd: rootPath, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The ES module entry points of the package's exports map, as files relative to the package. */
function esmEntries(pkg) {
  return Object.entries(pkg.exports ?? {})
    .map(([subpath, conditions]) => [subpath, conditions?.import?.default ?? conditions?.import])
    .filter(([, file]) => typeof file === 'string' && file.endsWith('.js'));
}

/**
 * The sources to compile: the working tree's lib/ (what a developer is
 * changing), or lib/ and package.json as of a git commit (`--ref`), extracted
 * into bench/.build/ref-src: to compare two commits on the same machine, or
 * to measure while lib/ is half-way through someone's edit. The compiler
 * settings are the working tree's tsconfig.build.json either way.
 */
function sources(ref) {
  if (!ref) {
    return {
      project: join(rootPath, 'tsconfig.build.json'),
      pkg: JSON.parse(readFileSync(join(rootPath, 'package.json'), 'utf8')),
      commit: git(['rev-parse', '--short', 'HEAD']),
      libModified: Boolean(git(['status', '--porcelain', '--', 'lib'])),
    };
  }
  const commit = git(['rev-parse', '--short', '--verify', `${ref}^{commit}`]);
  if (!commit) throw new UsageError(`--ref ${ref}: not a commit in this repository`);
  const dir = join(buildPath, 'ref-src');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync('git', ['archive', '--format=tar', commit, 'lib'], { cwd: rootPath, maxBuffer: 1 << 30 });
  if (archive.status !== 0) throw new Error(`git archive ${commit} lib failed: ${archive.stderr}`);
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`unpacking lib/ of ${commit} failed: ${untar.stderr}`);
  const project = join(dir, 'tsconfig.json');
  writeFileSync(
    project,
    JSON.stringify({
      extends: join(rootPath, 'tsconfig.build.json'),
      compilerOptions: { rootDir: 'lib', typeRoots: [join(rootPath, 'node_modules/@types')] },
      include: ['lib/**/*.ts'],
      exclude: ['lib/**/*.spec.ts'],
    }),
  );
  const pkg = JSON.parse(git(['show', `${commit}:package.json`]));
  return { project, pkg, commit, libModified: false };
}

function buildSnapshot(ref) {
  log(
    `# building: lib/${ref ? ` at ${ref}` : ''} -> bench/node_modules/nestjs-worker (the ES module build, a snapshot for this run)`,
  );
  const { project, pkg, commit, libModified } = sources(ref);
  rmSync(snapshotPath, { recursive: true, force: true });
  const esm = join(snapshotPath, 'dist/esm');
  const compiled = spawnSync(process.execPath, [tsc, '-p', project, '--outDir', esm], {
    cwd: rootPath,
    stdio: 'inherit',
  });
  if (ref) rmSync(join(buildPath, 'ref-src'), { recursive: true, force: true });
  if (!existsSync(esm)) mkdirSync(esm, { recursive: true });
  const { name, version, type, exports, peerDependencies } = pkg;
  writeFileSync(
    join(snapshotPath, 'package.json'),
    `${JSON.stringify({ name, version, type, exports, peerDependencies }, null, 2)}\n`,
  );
  writeFileSync(join(esm, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);

  const entries = esmEntries(pkg);
  const missing = entries.filter(([, file]) => !existsSync(join(snapshotPath, file)));
  if (missing.some(([subpath]) => subpath === '.'))
    throw new Error('compiling lib/ produced no dist/esm/index.js: the library does not build now');
  if (compiled.status !== 0)
    log(
      '# tsc reported errors in lib/ (work in progress elsewhere in the tree?); it emitted the snapshot anyway, going on',
    );
  for (const [subpath, file] of missing)
    log(`# ${name}${subpath.slice(1)} (${file}) was not emitted: subjects that need it are skipped`);

  const stamp = {
    commit,
    ...(ref ? { ref } : {}),
    // Others edit lib/ in this checkout: say whether the snapshot is of a committed tree.
    libModified,
    tscErrors: compiled.status !== 0,
    builtAt: new Date().toISOString(),
    entries: Object.fromEntries(entries.map(([subpath, file]) => [subpath, existsSync(join(snapshotPath, file))])),
  };
  writeFileSync(stampFile, `${JSON.stringify(stamp, null, 2)}\n`);
}

function buildFixtures() {
  log('# building: tsc -p bench/tsconfig.json (fixtures, test/support/services.ts -> bench/.build/)');
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(benchPath, 'tsconfig.json')], {
    cwd: rootPath,
    stdio: 'inherit',
  });
  if (compiled.status !== 0) {
    if (!existsSync(join(buildPath, 'bench/fixtures/bench.tasks.js')))
      throw new Error('compiling the bench fixtures failed');
    log('# tsc reported errors in the bench fixtures build; using what it emitted');
  }
}

/** `ref`: a git commit to take lib/ from, instead of the working tree. */
export function build(ref) {
  buildSnapshot(ref);
  buildFixtures();
}

/** What the subjects will load: the snapshot's stamp, or an error when --no-build finds nothing built. */
export function snapshotInfo() {
  if (!existsSync(stampFile) || !existsSync(join(buildPath, 'bench/fixtures/bench.tasks.js')))
    throw new Error('nothing built in bench/ yet: run once without --no-build');
  return JSON.parse(readFileSync(stampFile, 'utf8'));
}
