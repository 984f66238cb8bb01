import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Messages } from '../errors/error-messages.js';
import { TasksModuleLoadError } from '../errors/worker.errors.js';
import { isTypeScriptFile, moduleFormatOf } from '../typescript-support/module-format.js';
import { prepareTypeScript } from '../typescript-support/typescript-support.js';

/** A loaded file's exports, whether it is an ES module or CommonJS. */
export interface ModuleExports {
  get(name: string): unknown;
  /** Export names, for messages. */
  names(): string[];
}

/**
 * Worker thread: loads `file` (an absolute path from `resolveModuleFile()`)
 * the way Node would run it: an ES module by `import()`, CommonJS by
 * `require()` (so that `require()` hooks of the app's loader, or ours for
 * TypeScript, apply to it and to everything it requires).
 */
export async function loadModuleExports(file: string): Promise<ModuleExports> {
  prepareTypeScript(file);
  const format = moduleFormatOf(file);
  let loaded: unknown;
  try {
    loaded = format === 'module' ? await import(pathToFileURL(file).href) : createRequire(file)(file);
  } catch (error) {
    if (error instanceof TasksModuleLoadError) throw error;
    const code = (error as NodeJS.ErrnoException)?.code;
    const reason =
      code === 'ERR_UNKNOWN_FILE_EXTENSION' && isTypeScriptFile(file)
        ? Messages.typeScriptCompilerMissing(file)
        : ((error as Error)?.message ?? String(error));
    throw new TasksModuleLoadError(Messages.moduleLoad(file, reason), { cause: error });
  }
  return format === 'module' ? namespaceExports(loaded as Record<string, unknown>) : commonJsExports(loaded);
}

function namespaceExports(namespace: Record<string, unknown>): ModuleExports {
  return {
    get: (name) => namespace[name],
    names: () => Object.keys(namespace),
  };
}

function commonJsExports(value: unknown): ModuleExports {
  const object = value !== null && (typeof value === 'object' || typeof value === 'function') ? value : {};
  const exports = object as Record<string, unknown>;
  return {
    get: (name) => (name === 'default' && !('default' in exports) ? value : exports[name]),
    names: () => Object.keys(exports).filter((name) => name !== '__esModule'),
  };
}
