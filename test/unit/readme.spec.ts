/**
 * Every TypeScript snippet of the README and of docs/*.md is compiled, as a
 * user would: against the built package (dist/, through its `exports`),
 * with the compiler options the README recommends. A snippet that stops
 * compiling fails this test, so the documentation cannot rot. A fence
 * marked `commonjs` (```ts file=cjs/x.ts commonjs) is compiled as a
 * CommonJS file, as in a Nest 11 project: its top folder gets a
 * package.json of type commonjs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface Snippet {
  lang: string;
  file?: string;
  commonjs: boolean;
  code: string;
  line: number;
}

export function snippetsOf(markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const fence = /^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm;
  for (let match = fence.exec(markdown); match; match = fence.exec(markdown)) {
    const file = /file=(\S+)/.exec(match[2]!)?.[1];
    out.push({
      lang: match[1]!,
      file,
      commonjs: /(^|\s)commonjs(\s|$)/.test(match[2]!),
      code: match[3]!,
      line: markdown.slice(0, match.index).split('\n').length,
    });
  }
  return out;
}

/** The README's snippets, then each docs/*.md page's, their files under a folder named after the page. */
function documentedSnippets(): Array<Snippet & { doc: string }> {
  const docs = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md'));
  return [
    ...snippetsOf(readFileSync(join(root, 'README.md'), 'utf8')).map((s) => ({ ...s, doc: 'README.md' })),
    ...docs.flatMap((name) =>
      snippetsOf(readFileSync(join(root, 'docs', name), 'utf8')).map((s) => ({
        ...s,
        doc: `docs/${name}`,
        file: s.file && `docs-${name.replace(/\.md$/, '')}/${s.file}`,
      })),
    ),
  ];
}

describe('README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const snippets = snippetsOf(readme);

  it('has only TypeScript, shell and text code blocks, and the two commands up front', () => {
    for (const s of snippets)
      assert.ok(['ts', 'sh', 'text', 'json'].includes(s.lang), `line ${s.line}: \`\`\`${s.lang}`);
    const first = snippets.find((s) => s.lang === 'sh')!;
    assert.match(first.code, /npm run sample/);
    assert.match(first.code, /npm test/);
  });

  it('compiles every TypeScript snippet of the README and docs/ against the built package', () => {
    const dir = join(root, '.tmp/readme-snippets');
    rmSync(dir, { recursive: true, force: true });
    const ts = documentedSnippets().filter((s) => s.lang === 'ts');
    assert.ok(ts.length >= 10, `${ts.length} snippets`);
    const names = new Set<string>();
    for (const [i, s] of ts.entries()) {
      const name = s.file ?? `snippet-${i}.ts`;
      assert.ok(!names.has(name), `two snippets named ${name}`);
      names.add(name);
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      if (s.commonjs) {
        const top = name.split('/')[0]!;
        assert.ok(top !== name, `${s.doc} line ${s.line}: a commonjs snippet needs a folder of its own (file=cjs/...)`);
        writeFileSync(join(dir, top, 'package.json'), '{ "type": "commonjs" }\n');
      }
      writeFileSync(join(dir, name), `// ${s.doc} line ${s.line}\n${s.code}`);
    }
    // The globals Jest (and Vitest with `globals: true`) give a spec, as far as the snippets use them.
    writeFileSync(
      join(dir, 'test-runner-globals.d.ts'),
      [
        'type Body = () => unknown;',
        'declare function describe(name: string, body: () => void): void;',
        'declare function it(name: string, body: Body, timeoutMs?: number): void;',
        'declare function beforeAll(body: Body, timeoutMs?: number): void;',
        'declare function afterAll(body: Body, timeoutMs?: number): void;',
        'declare function expect(actual: unknown): { toBe(expected: unknown): void; toEqual(expected: unknown): void };',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          lib: ['ES2023'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['**/*.ts', '**/*.cts', '**/*.mts'],
      }),
    );
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], {
        cwd: dir,
        encoding: 'utf8',
      });
    } catch (error) {
      assert.fail(`README snippets do not compile:\n${(error as { stdout?: string }).stdout ?? error}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
