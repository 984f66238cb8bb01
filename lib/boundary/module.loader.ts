import { pathToFileURL } from 'node:url';
import { Messages } from './errors/error-messages.js';
import { TasksModuleLoadError } from './errors/worker.errors.js';

/**
 * Turns "this class (or function), from this file" into "this export of this
 * file URL" — the only form a worker thread can load — and checks it here, at
 * bootstrap, so that a wrong file or export fails `app.init()`.
 */
export async function locateExport(
  target: unknown,
  file: string | URL,
  exportName: string | undefined,
  notExported: (fileUrl: string) => string,
): Promise<{ file: string; exportName: string }> {
  const url = toFileUrl(file);
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new TasksModuleLoadError(Messages.moduleLoad(url, (error as Error)?.message ?? String(error)), {
      cause: error,
    });
  }
  // A CommonJS file's exports also sit on `default`, and are only copied to
  // the namespace when Node's static analysis finds them.
  const cjs = namespace.default as Record<string, unknown> | undefined;
  const lookup = (name: string) => namespace[name] ?? (cjs && typeof cjs === 'object' ? cjs[name] : undefined);
  if (exportName !== undefined) {
    if (lookup(exportName) !== target) throw new TasksModuleLoadError(notExported(url));
    return { file: url, exportName };
  }
  const names = new Set([...Object.keys(namespace), ...(cjs && typeof cjs === 'object' ? Object.keys(cjs) : [])]);
  for (const name of names) {
    if (name !== 'default' && lookup(name) === target) return { file: url, exportName: name };
  }
  if (namespace.default === target) return { file: url, exportName: 'default' };
  throw new TasksModuleLoadError(notExported(url));
}

export function toFileUrl(file: string | URL): string {
  if (file instanceof URL) return file.href;
  return /^[a-z][a-z0-9+.-]*:/i.test(file) && !/^[a-z]:[\\/]/i.test(file) ? file : pathToFileURL(file).href;
}
