import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withTasksEntries } from '../../lib/webpack.js';

describe('withTasksEntries() (nestjs-worker/webpack)', () => {
  let dir: string;
  const write = (path: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), '');
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-webpack-'));
    for (const path of [
      'src/main.ts',
      'src/app.module.ts',
      'src/hash/hash.tasks.ts',
      'src/reports/report.tasks.ts',
      'src/reports/report.tasks.spec.ts',
      'src/node_modules/vendored.tasks.ts',
      'apps/api/src/main.ts',
      'apps/api/src/api.tasks.ts',
      'apps/admin/src/main.ts',
    ]) {
      write(path);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('adds every *.tasks.ts below the main entry as a CommonJS entry, where tsc would emit it', () => {
    const options = { entry: join(dir, 'src/main.ts'), output: { filename: 'main.js' }, mode: 'none', target: 'node' };
    const config = withTasksEntries(options);
    assert.deepEqual(config.entry, {
      main: join(dir, 'src/main.ts'),
      'hash/hash.tasks': { import: join(dir, 'src/hash/hash.tasks.ts'), library: { type: 'commonjs2' } },
      'reports/report.tasks': { import: join(dir, 'src/reports/report.tasks.ts'), library: { type: 'commonjs2' } },
    });
    assert.deepEqual(config.output, { filename: '[name].js' });
    assert.equal(config.mode, 'none', 'the rest of the configuration is kept');
    assert.equal(options.entry, join(dir, 'src/main.ts'), 'the given options are not changed');
  });

  it("keeps a monorepo app's output folder (dist/apps/<app>/...)", () => {
    const config = withTasksEntries({
      entry: join(dir, 'apps/api/src/main.ts'),
      output: { filename: 'apps/api/main.js' },
    });
    assert.deepEqual(Object.keys(config.entry), ['main', 'api.tasks']);
    assert.equal(config.output?.filename, 'apps/api/[name].js');
    const admin = withTasksEntries({
      entry: join(dir, 'apps/admin/src/main.ts'),
      output: { filename: 'apps/admin/main.js' },
    });
    assert.deepEqual(Object.keys(admin.entry), ['main'], 'an app without tasks files gets none');
  });

  it("emits ES modules for an ES module bundle, where import.meta.url stays the bundle's URL", () => {
    const config = withTasksEntries({
      entry: join(dir, 'src/main.ts'),
      output: { filename: 'main.js', module: true, library: { type: 'module' } },
      module: { rules: ['kept'], parser: { javascript: { exportsPresence: 'error' } } },
    });
    assert.deepEqual(config.entry['hash/hash.tasks'], {
      import: join(dir, 'src/hash/hash.tasks.ts'),
      library: { type: 'module' },
    });
    assert.deepEqual(config.module, {
      rules: ['kept'],
      parser: { javascript: { exportsPresence: 'error', url: false, importMeta: false } },
    });
  });

  it('takes an explicit list, relative to the main entry', () => {
    const config = withTasksEntries({ entry: join(dir, 'src/main.ts'), output: { filename: 'main.js' } }, [
      'app.module.ts',
    ]);
    assert.deepEqual(Object.keys(config.entry), ['main', 'app.module']);
  });

  it("refuses a file outside the main entry's folder, or one that does not exist, saying how to name it", () => {
    for (const file of ['../apps/api/src/api.tasks.ts', 'hash/missing.tasks.ts']) {
      assert.throws(
        () => withTasksEntries({ entry: join(dir, 'src/main.ts'), output: { filename: 'main.js' } }, [file]),
        /does not exist or is not inside .*the folder of the main entry\. Give tasks files as paths relative to that folder/,
      );
    }
  });

  it('refuses options without a main entry path', () => {
    assert.throws(
      () => withTasksEntries({ entry: { main: './src/main.ts' } }),
      /"entry" must be the main file's path .* module\.exports = \(options\) => withTasksEntries\(options\)/,
    );
  });
});
