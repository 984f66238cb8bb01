/**
 * Module customization hooks (`module.register()`) that let `import()` in a
 * worker thread load TypeScript. Node runs them on its hooks thread, so this
 * file is always an ES module (`.mts`, in both builds) and imports only what
 * compiling needs.
 *
 * Loaders the thread already has come first: each hook asks the next one and
 * steps in only where Node itself would fail (a missing `./x.js` next to an
 * `x.ts`, a tsconfig `paths` alias, an unknown `.ts` extension) or would
 * merely strip types (Node >= 22.18), which drops the decorator metadata
 * Nest injects by.
 */
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Messages } from '../errors/error-messages.js';
import { isTypeScriptFile, moduleFormatOf, typeScriptSibling } from './module-format.js';
import { aliasTargets } from './path-aliases.js';
import { transpilerFor } from './transpiler.js';

/** What a `paths` target may name: a file as written, a module without its extension, a folder's index. */
const ALIAS_FILES = ['', '.ts', '.mts', '.js', '.mjs', '/index.ts', '/index.js'];

const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;

interface ResolveContext {
  parentURL?: string;
  conditions?: string[];
  importAttributes?: Record<string, string>;
}
interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
interface LoadContext {
  format?: string | null;
  conditions?: string[];
  importAttributes?: Record<string, string>;
}
interface LoadResult {
  format: string;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}

export async function resolve(
  specifier: string,
  context: ResolveContext,
  next: (specifier: string, context: ResolveContext) => Promise<ResolveResult>,
): Promise<ResolveResult> {
  try {
    return await next(specifier, context);
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code !== 'ERR_MODULE_NOT_FOUND' || !context.parentURL?.startsWith('file:')) {
      throw error;
    }
    const relative = /^\.\.?\//.test(specifier) || specifier.startsWith('file:');
    const sibling = relative ? typeScriptSibling(specifier) : undefined;
    const candidates = sibling
      ? [sibling]
      : aliasTargets(specifier, fileURLToPath(context.parentURL))
          .flatMap((target) => ALIAS_FILES.map((ending) => target + ending))
          .filter(isFile)
          .map((file) => pathToFileURL(file).href);
    for (const candidate of candidates) {
      try {
        return await next(candidate, context);
      } catch {
        // next candidate
      }
    }
    throw error;
  }
}

export async function load(
  url: string,
  context: LoadContext,
  next: (url: string, context: LoadContext) => Promise<LoadResult>,
): Promise<LoadResult> {
  if (!url.startsWith('file:')) return next(url, context);
  const file = fileURLToPath(url);
  if (!isTypeScriptFile(file)) return next(url, context);
  try {
    const loaded = await next(url, context);
    if (loaded.format !== 'module-typescript' && loaded.format !== 'commonjs-typescript') return loaded;
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  }
  const format = moduleFormatOf(file);
  // A CommonJS file goes to Node's CommonJS loader, whose `.ts` handler
  // (installed in the thread itself) compiles it: `require()` calls made
  // inside it must find TypeScript too, and those never reach these hooks.
  if (format === 'commonjs') return { format: 'commonjs', shortCircuit: true };
  const transpiler = transpilerFor(file);
  if (!transpiler) throw new Error(Messages.typeScriptCompilerMissing(file));
  return {
    format: 'module',
    source: transpiler.transpile(readFileSync(file, 'utf8'), file, format),
    shortCircuit: true,
  };
}
