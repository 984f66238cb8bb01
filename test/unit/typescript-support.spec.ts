import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { moduleFormatOf, typeScriptSibling } from '../../lib/typescript-support/module-format.js';
import { aliasTargets } from '../../lib/typescript-support/path-aliases.js';
import { parseJsonc, projectConfigFor } from '../../lib/typescript-support/tsconfig.reader.js';

describe('TypeScript support: files, formats and tsconfig', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-worker-ts-'));
    mkdirSync(join(dir, 'esm/src'), { recursive: true });
    mkdirSync(join(dir, 'cjs/src'), { recursive: true });
    writeFileSync(join(dir, 'esm/package.json'), '{ "type": "module" }');
    writeFileSync(join(dir, 'cjs/package.json'), '{ "name": "no-type" }');
    mkdirSync(join(dir, 'mono/apps/api/src'), { recursive: true });
    writeFileSync(
      join(dir, 'mono/tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          baseUrl: './',
          paths: { '@app/common': ['libs/common/src'], '@app/common/*': ['libs/common/src/*'], '@app/*': ['libs/*'] },
        },
      }),
    );
    writeFileSync(join(dir, 'mono/apps/api/tsconfig.json'), '{ "extends": "../../tsconfig.json" }');
    writeFileSync(
      join(dir, 'base.json'),
      '{ "compilerOptions": { "experimentalDecorators": true, "target": "ES2021", "outDir": "a" } }',
    );
    writeFileSync(
      join(dir, 'esm/tsconfig.json'),
      `{
        // As tsc reads it: comments, trailing commas, "extends" without .json
        "extends": "../base",
        "compilerOptions": {
          "emitDecoratorMetadata": true, /* inline */
          "target": "ES2023",
          "outDir": "./dist//out", // a "//" inside a string stays
        },
      }`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('maps compiled names to their TypeScript sources', () => {
    assert.equal(typeScriptSibling('/a/x.tasks.js'), '/a/x.tasks.ts');
    assert.equal(typeScriptSibling('/a/x.mjs'), '/a/x.mts');
    assert.equal(typeScriptSibling('/a/x.cjs'), '/a/x.cts');
    assert.equal(typeScriptSibling('/a/x.ts'), undefined);
  });

  it('tells ES modules from CommonJS like Node: extension first, then the nearest package.json', () => {
    assert.equal(moduleFormatOf(join(dir, 'esm/src/a.ts')), 'module');
    assert.equal(moduleFormatOf(join(dir, 'cjs/src/a.ts')), 'commonjs');
    assert.equal(moduleFormatOf(join(dir, 'esm/src/a.cts')), 'commonjs');
    assert.equal(moduleFormatOf(join(dir, 'cjs/src/a.mts')), 'module');
  });

  it('reads the nearest tsconfig.json with its extends chain', () => {
    const config = projectConfigFor(join(dir, 'esm/src/a.ts'));
    assert.equal(config.path, join(dir, 'esm/tsconfig.json'));
    assert.deepEqual(config.compilerOptions, {
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      target: 'ES2023',
      outDir: './dist//out',
    });
    assert.equal(projectConfigFor(join(dir, 'cjs/src/a.ts')).path, undefined);
  });

  it("maps bare specifiers through the tsconfig's paths, relative to the baseUrl of the file that set it", () => {
    const from = join(dir, 'mono/apps/api/src/main.ts');
    assert.deepEqual(aliasTargets('@app/common', from), [join(dir, 'mono/libs/common/src')]);
    assert.deepEqual(aliasTargets('@app/common/util', from), [join(dir, 'mono/libs/common/src/util')]);
    assert.deepEqual(aliasTargets('@app/other', from), [join(dir, 'mono/libs/other')]);
    assert.deepEqual(aliasTargets('@nestjs/common', from), []);
    assert.deepEqual(aliasTargets('./local', from), []);
  });

  it('parses JSON with comments and trailing commas, leaving strings alone', () => {
    assert.deepEqual(parseJsonc('{ "a": "x, }", /* c */ "b": [1, 2,], // d\n }'), { a: 'x, }', b: [1, 2] });
  });
});
