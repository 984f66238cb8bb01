import { pathToFileURL } from 'node:url';
import { Messages } from '../errors/error-messages.js';
import { TasksModuleLoadError } from '../errors/worker.errors.js';

/** Where a worker thread finds a class or function: an export of a file, by URL. */
export interface ExportRef {
  readonly file: string;
  readonly exportName: string;
}

/**
 * Main thread: turns "this class (or function), from this file" into the
 * only form a worker thread can load, an export of a file URL, and checks it
 * now, so that a wrong file or export fails `app.init()` rather than every
 * thread's boot.
 */
export async function locateExport(
  target: unknown,
  file: string | URL,
  exportName: string | undefined,
  notExported: (fileUrl: string) => string,
): Promise<ExportRef> {
  const url = toFileUrl(file);
  const exports = await importExports(url);
  if (exportName !== undefined) {
    if (exports.get(exportName) !== target) throw new TasksModuleLoadError(notExported(url));
    return { file: url, exportName };
  }
  for (const name of exports.names()) {
    if (name !== 'default' && exports.get(name) === target) return { file: url, exportName: name };
  }
  if (exports.get('default') === target) return { file: url, exportName: 'default' };
  throw new TasksModuleLoadError(notExported(url));
}

/** Worker thread: loads what `locateExport()` found, by file URL and export name. */
export async function loadExport(file: string, exportName: string, notFound: () => string): Promise<unknown> {
  const value = (await importExports(file)).get(exportName);
  if (value === undefined) throw new TasksModuleLoadError(notFound());
  return value;
}

/** How a function task is named in messages and listings: the same words on both sides of the boundary. */
export function describeFunctionTask(ref: ExportRef): string {
  return `function ${ref.exportName} (${ref.file})`;
}

export function toFileUrl(file: string | URL): string {
  if (file instanceof URL) return file.href;
  return /^[a-z][a-z0-9+.-]*:/i.test(file) && !/^[a-z]:[\\/]/i.test(file) ? file : pathToFileURL(file).href;
}

interface Exports {
  get(name: string): unknown;
  names(): Set<string>;
}

async function importExports(url: string): Promise<Exports> {
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new TasksModuleLoadError(Messages.moduleLoad(url, (error as Error)?.message ?? String(error)), {
      cause: error,
    });
  }
  // A CommonJS file's exports also sit on `default`, and are only copied to
  // the namespace when Node's static analysis of the file finds them.
  const fallback = namespace.default;
  const cjs =
    fallback !== null && (typeof fallback === 'object' || typeof fallback === 'function')
      ? (fallback as Record<string, unknown>)
      : undefined;
  return {
    get: (name) => namespace[name] ?? (name === 'default' ? undefined : cjs?.[name]),
    names: () => new Set([...Object.keys(namespace), ...(cjs ? Object.keys(cjs) : [])]),
  };
}
