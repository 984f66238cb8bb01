import { statSync } from 'node:fs';
import { extname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Messages } from '../errors/error-messages.js';
import { TasksModuleLoadError } from '../errors/worker.errors.js';
import { typeScriptSibling } from '../typescript-support/module-format.js';

/** What an extensionless `file` (`join(__dirname, 'x.tasks')`) may stand for, compiled output first. */
const EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];

/**
 * Main thread: the file a worker thread must load for `option` (`tasksModule.file`,
 * `functions[i].file`), as an absolute path. Only resolved, never imported:
 * importing it here would run it in the main thread's module graph, which
 * under Jest cannot `import()` at all and under Vitest or a bundler holds
 * other copies of its classes than Node would load.
 *
 * Where the file does not exist but its TypeScript source does (`x.js` →
 * `x.ts`), the app runs from its sources (ts-node, swc-node, tsx, Jest,
 * Vitest) and the source is what the threads load: the same `file` then
 * works from sources and from compiled output.
 */
export function resolveModuleFile(option: string, file: unknown): string {
  const path = toPath(option, file);
  const candidates = [path];
  const sibling = typeScriptSibling(path);
  if (sibling) candidates.push(sibling);
  if (extname(path) === '' || !/^\.[cm]?[jt]s$/.test(extname(path))) {
    candidates.push(...EXTENSIONS.map((extension) => path + extension));
  }
  const found = candidates.find(isFile);
  if (!found) throw new TasksModuleLoadError(Messages.moduleFileMissing(option, path, candidates.slice(1)));
  return found;
}

function toPath(option: string, file: unknown): string {
  if (file instanceof URL && file.protocol === 'file:') return fileURLToPath(file);
  if (typeof file === 'string' && file.startsWith('file:')) return fileURLToPath(file);
  if (typeof file === 'string' && isAbsolute(file)) return file;
  const shown = typeof file === 'string' ? JSON.stringify(file) : `${String(file)} (${typeof file})`;
  throw new TasksModuleLoadError(Messages.moduleFileNotAPath(option, shown));
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}
