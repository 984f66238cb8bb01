/**
 * The published package, as users get it: `npm pack`, then fresh apps that
 * install the tarball from disk and their Nest version from the registry —
 * an ES module app on Nest 12, and CommonJS apps on Nest 12 (require(esm))
 * and Nest 11 — each compiled by tsc against the package's own .d.ts and run,
 * with the /terminus and /dashboard entry points on that major's Terminus
 * and Express.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const sources = join(root, 'test/consumers/src');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Consumer {
  kind: 'esm' | 'cjs';
  nest: string;
}

/** One public name of each entry point, as a CommonJS project imports them. */
const ENTRY_POINT_NAMES: Record<string, string> = {
  'nestjs-worker': 'WorkerManager',
  'nestjs-worker/postgres': 'PostgresTaskClient',
  'nestjs-worker/redis': 'RedisTaskClient',
  'nestjs-worker/webpack': 'withTasksEntries',
  'nestjs-worker/testing': 'WorkerTesting',
  'nestjs-worker/grpc': 'GrpcTaskClient',
  'nestjs-worker/otel': 'WorkerTelemetryModule',
  'nestjs-worker/terminus': 'WorkerHealthIndicator',
  'nestjs-worker/dashboard': 'WorkerDashboardModule',
};

/**
 * `"module": "commonjs"` without `moduleResolution` (TypeScript 5's
 * `node10`, which reads no `exports`) still finds every entry point's
 * types, through `typesVersions`: such projects got TS2307 for every subpath.
 */
function typeCheckUnderNode10(app: string): void {
  const folder = join(app, 'node10');
  mkdirSync(folder, { recursive: true });
  const specifiers = Object.entries(ENTRY_POINT_NAMES);
  writeFileSync(
    join(folder, 'imports.ts'),
    [
      ...specifiers.map(([from, name], i) => `import { ${name} as E${i} } from '${from}';`),
      `export const entryPoints = [${specifiers.map((_, i) => `E${i}`).join(', ')}] as const;`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(folder, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'commonjs',
        // What TypeScript 5 picks for module commonjs; TypeScript 6 deprecates it (and picks bundler).
        moduleResolution: 'node10',
        ignoreDeprecations: '6.0',
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        strict: true,
        // The optional peers (pg, ioredis, @grpc/grpc-js, ...) are not installed here.
        skipLibCheck: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [join(root, 'node_modules/@types')],
      },
      files: ['imports.ts'],
    }),
  );
  execFileSync(process.execPath, [tsc, '-p', folder], { cwd: folder, stdio: 'inherit' });
}

describe('the packed package in fresh consumer apps', () => {
  let dir: string;
  let tarball: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-pack-'));
    execFileSync(npm, ['pack', '--silent', '--pack-destination', dir], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    tarball = join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.tgz'))!,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ships only dist, README, CHANGELOG and package.json', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    const top = new Set(listing.map((p) => p.split('/')[1]));
    assert.deepEqual([...top].sort(), ['CHANGELOG.md', 'README.md', 'dist', 'package.json']);
    for (const entry of ['index', 'postgres', 'redis', 'grpc', 'testing', 'otel', 'terminus', 'dashboard']) {
      for (const build of ['esm', 'cjs']) {
        assert.ok(listing.includes(`package/dist/${build}/${entry}.d.ts`), `${build}/${entry}.d.ts`);
        assert.ok(listing.includes(`package/dist/${build}/${entry}.js`), `${build}/${entry}.js`);
      }
    }
    // Files tsc does not emit, copied by scripts/build.mjs.
    for (const build of ['esm', 'cjs']) {
      for (const file of ['dashboard.html', 'dashboard.js', 'dashboard.css']) {
        assert.ok(listing.includes(`package/dist/${build}/dashboard/page/${file}`), `${build}/dashboard/page/${file}`);
      }
    }
    assert.ok(!listing.some((p) => p.includes('.spec.')), 'no specs');
  });

  for (const consumer of [
    { kind: 'esm', nest: '^12.0.0' },
    { kind: 'cjs', nest: '^12.0.0' },
    { kind: 'cjs', nest: '^11.0.0' },
  ] satisfies Consumer[]) {
    it(
      `works in a fresh ${consumer.kind === 'esm' ? 'ES module' : 'CommonJS'} app on Nest ${consumer.nest}`,
      { timeout: 240_000 },
      () => {
        const app = join(dir, `${consumer.kind}-nest${consumer.nest.replace(/\W/g, '')}`);
        mkdirSync(join(app, 'src'), { recursive: true });
        writeFileSync(
          join(app, 'package.json'),
          JSON.stringify({
            name: `consumer-${consumer.kind}`,
            private: true,
            type: consumer.kind === 'esm' ? 'module' : 'commonjs',
          }),
        );
        execFileSync(
          npm,
          [
            'install',
            '--no-audit',
            '--no-fund',
            '--prefer-offline',
            '--loglevel=error',
            tarball,
            `@nestjs/common@${consumer.nest}`,
            `@nestjs/core@${consumer.nest}`,
            'reflect-metadata@^0.2.0',
            'rxjs@^7.8.0',
            // For nestjs-worker/terminus and nestjs-worker/dashboard (src/health.ts), at the app's Nest major.
            `@nestjs/terminus@${consumer.nest}`,
            `@nestjs/platform-express@${consumer.nest}`,
          ],
          { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] },
        );
        copyFileSync(join(sources, 'tasks.ts'), join(app, 'src/tasks.ts'));
        copyFileSync(join(sources, `main.${consumer.kind}.ts`), join(app, 'src/main.ts'));
        copyFileSync(join(sources, 'health.ts'), join(app, 'src/health.ts'));
        writeFileSync(
          join(app, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              target: 'ES2022',
              module: 'nodenext',
              moduleResolution: 'nodenext',
              experimentalDecorators: true,
              emitDecoratorMetadata: true,
              strict: true,
              // The root entry point must type-check without pg or ioredis installed.
              skipLibCheck: false,
              outDir: 'dist',
              rootDir: 'src',
              types: ['node'],
              typeRoots: [join(root, 'node_modules/@types')],
            },
            include: ['src'],
          }),
        );
        execFileSync(process.execPath, [tsc, '-p', app], { cwd: app, stdio: 'inherit' });
        if (consumer.kind === 'cjs') typeCheckUnderNode10(app);
        const output = execFileSync(process.execPath, [join(app, 'dist/main.js')], {
          cwd: app,
          encoding: 'utf8',
          timeout: 60_000,
        });
        const line = JSON.parse(output.trim().split('\n').at(-1)!);
        assert.equal(line.kind, consumer.kind);
        assert.equal(line.out.hex, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
        assert.notEqual(line.out.threadId, line.mainThreadId);
        // The /terminus and /dashboard entry points, with that Nest major's Terminus and Express.
        const health = execFileSync(process.execPath, [join(app, 'dist/health.js')], {
          cwd: app,
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.deepEqual(JSON.parse(health.trim().split('\n').at(-1)!), {
          health: 'up',
          alive: 1,
          page: 200,
          base: true,
          script: 200,
        });
      },
    );
  }
});
