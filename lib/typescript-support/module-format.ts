import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type ModuleFormat = 'module' | 'commonjs';

const TYPESCRIPT = /\.(?:ts|mts|cts)$/;
const DECLARATION = /\.d\.(?:ts|mts|cts)$/;

/** A TypeScript source file Node cannot load by itself (declaration files are not). */
export function isTypeScriptFile(path: string): boolean {
  return TYPESCRIPT.test(path) && !DECLARATION.test(path);
}

/**
 * The TypeScript file that compiles to `path`: `x.js` → `x.ts`, `x.mjs` →
 * `x.mts`, `x.cjs` → `x.cts`. What a relative import or a `file` option names
 * when the code runs from its sources instead of from compiled output.
 */
export function typeScriptSibling(path: string): string | undefined {
  const match = /\.([mc]?)js$/.exec(path);
  return match ? `${path.slice(0, -match[0].length)}.${match[1]}ts` : undefined;
}

const packageTypes = new Map<string, ModuleFormat>();

/** How Node (and tsc with `module: nodenext`) treats `path`: by its extension, then the nearest package.json. */
export function moduleFormatOf(path: string): ModuleFormat {
  if (/\.m[jt]s$/.test(path)) return 'module';
  if (/\.c[jt]s$/.test(path)) return 'commonjs';
  return packageTypeOf(dirname(path));
}

function packageTypeOf(dir: string): ModuleFormat {
  const known = packageTypes.get(dir);
  if (known) return known;
  let type: ModuleFormat | undefined;
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown };
    type = manifest.type === 'module' ? 'module' : 'commonjs';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') type = 'commonjs';
  }
  const parent = dirname(dir);
  type ??= parent === dir ? 'commonjs' : packageTypeOf(parent);
  packageTypes.set(dir, type);
  return type;
}
