import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { Messages } from '../errors/error-messages.js';
import { TasksModuleLoadError } from '../errors/worker.errors.js';
import { typeScriptSibling } from './module-format.js';
import { aliasTargets } from './path-aliases.js';
import { transpilerFor } from './transpiler.js';

interface CommonJsModule {
  _compile(code: string, filename: string): void;
}

type ExtensionHandler = (module: CommonJsModule, filename: string) => void;

interface ModuleInternals {
  _extensions: Record<string, ExtensionHandler | undefined>;
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
}

const internals = Module as unknown as ModuleInternals;
const EXTENSIONS = ['.ts', '.cts'];
let installed = false;

/**
 * Whether `require()` in this thread already compiles `extension` with a
 * loader of the app's (`-r ts-node/register`, `-r @swc-node/register`,
 * inherited through execArgv): that loader then wins. Node's own type
 * stripping (Node >= 22.18) does not count: it cannot compile decorators.
 */
export function hasCommonJsLoaderFor(extension: string): boolean {
  const handler = internals._extensions[extension];
  if (!handler) return false;
  return !(process.features as { typescript?: unknown }).typescript || hasPreloadFlag();
}

function hasPreloadFlag(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some((flag) => flag === '-r' || flag.startsWith('--require'));
}

/**
 * Lets `require()` in this thread load TypeScript: `.ts` and `.cts` files are
 * compiled by the app's `@swc/core` or `typescript`; a relative `./x.js`
 * that does not exist resolves to `./x.ts` (what tsc's `module: nodenext`
 * sources import), and a bare specifier Node cannot find through the
 * tsconfig's `paths`. Extensions another loader already handles are left to it.
 */
export function installCommonJsHook(): void {
  if (installed) return;
  installed = true;
  for (const extension of EXTENSIONS) {
    if (hasCommonJsLoaderFor(extension)) continue;
    internals._extensions[extension] = compileTypeScript;
  }
  const resolveFilename = internals._resolveFilename;
  internals._resolveFilename = function (request, parent, isMain, options) {
    try {
      return resolveFilename.call(this, request, parent, isMain, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
      const parentFile = (parent as { filename?: unknown } | undefined)?.filename;
      const sibling = /^\.\.?\//.test(request) ? typeScriptSibling(request) : undefined;
      const candidates = sibling ? [sibling] : typeof parentFile === 'string' ? aliasTargets(request, parentFile) : [];
      for (const candidate of candidates) {
        try {
          return resolveFilename.call(this, candidate, parent, isMain, options);
        } catch {
          // next candidate
        }
      }
      throw error;
    }
  };
}

/** `require()` always gets CommonJS, whatever the file's package says (as with ts-node). */
function compileTypeScript(module: CommonJsModule, filename: string): void {
  const transpiler = transpilerFor(filename);
  if (!transpiler) throw new TasksModuleLoadError(Messages.typeScriptCompilerMissing(filename));
  module._compile(transpiler.transpile(readFileSync(filename, 'utf8'), filename, 'commonjs'), filename);
}
