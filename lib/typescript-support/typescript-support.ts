import { extname } from 'node:path';
import Module from 'node:module';
import { Messages } from '../errors/error-messages.js';
import { TasksModuleLoadError } from '../errors/worker.errors.js';
import { BUILD_ROOT } from '../internal/package-location.js';
import { hasCommonJsLoaderFor, installCommonJsHook } from './commonjs.hook.js';
import { isTypeScriptFile, moduleFormatOf } from './module-format.js';
import { compilerPathFor } from './transpiler.js';

const HOOKS = new URL('typescript-support/esm.hooks.mjs', BUILD_ROOT);
let hooksRegistered = false;

/**
 * Worker thread, before it loads `file`: when `file` is TypeScript (the app
 * runs from its sources: Jest, Vitest, ts-node, swc-node, tsx), makes this
 * thread able to load it, and what it imports, the way the main thread does.
 *
 * Why the thread needs its own: test runners and `ts-node src/main.ts`
 * compile inside their own module graph or process, which a new thread does
 * not inherit, and `tsx` on Node 20 skips worker threads on purpose. A loader
 * the thread does inherit (`-r ts-node/register`, `--import
 * @swc-node/register/esm-register` in execArgv) keeps precedence.
 */
export function prepareTypeScript(file: string): void {
  if (!isTypeScriptFile(file)) return;
  const format = moduleFormatOf(file);
  const compiler = compilerPathFor(file);
  if (!compiler && !hasLoaderFor(file, format)) {
    throw new TasksModuleLoadError(Messages.typeScriptCompilerMissing(file));
  }
  // Stack traces of the thread then point into the .ts sources (the
  // compiled code carries inline source maps).
  process.setSourceMapsEnabled(true);
  installCommonJsHook();
  if (format === 'module' && !hooksRegistered) {
    hooksRegistered = true;
    Module.register(HOOKS.href);
  }
}

function hasLoaderFor(file: string, format: 'module' | 'commonjs'): boolean {
  if (format === 'commonjs') return hasCommonJsLoaderFor(extname(file));
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some((flag) => /^--(import|loader|experimental-loader)\b/.test(flag));
}
