import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** The `compilerOptions` a TypeScript file is compiled with, as written in its tsconfig chain. */
export interface ProjectConfig {
  /** The tsconfig.json found, if any. */
  readonly path?: string;
  /** Raw JSON values, `extends` applied (relative paths are left as written). */
  readonly compilerOptions: Readonly<Record<string, unknown>>;
  /** `paths` aliases, with the folder their targets are relative to (`baseUrl`, else the tsconfig that declares them). */
  readonly paths?: { readonly base: string; readonly patterns: Readonly<Record<string, readonly string[]>> };
}

interface Chain {
  options: Record<string, unknown>;
  baseUrl?: string;
  pathsDir?: string;
}

const byDirectory = new Map<string, ProjectConfig>();

/** The nearest tsconfig.json above `file`, read the way tsc reads it (comments, trailing commas, `extends`). */
export function projectConfigFor(file: string): ProjectConfig {
  return configIn(dirname(file));
}

function configIn(dir: string): ProjectConfig {
  let config = byDirectory.get(dir);
  if (config) return config;
  const candidate = join(dir, 'tsconfig.json');
  if (existsSync(candidate)) {
    const chain = readChain(candidate, new Set());
    const patterns = chain.options.paths;
    const base = chain.baseUrl ?? chain.pathsDir;
    config = {
      path: candidate,
      compilerOptions: chain.options,
      ...(patterns && typeof patterns === 'object' && base
        ? { paths: { base, patterns: patterns as Record<string, string[]> } }
        : {}),
    };
  } else {
    const parent = dirname(dir);
    config = parent === dir || dir.endsWith('/node_modules') ? { compilerOptions: {} } : configIn(parent);
  }
  byDirectory.set(dir, config);
  return config;
}

function readChain(path: string, seen: Set<string>): Chain {
  const chain: Chain = { options: {} };
  if (seen.has(path)) return chain;
  seen.add(path);
  const json = parseJsonc(readFileSync(path, 'utf8')) as { extends?: unknown; compilerOptions?: unknown };
  const bases = json.extends === undefined ? [] : Array.isArray(json.extends) ? json.extends : [json.extends];
  for (const base of bases) {
    if (typeof base !== 'string') continue;
    const basePath = resolveExtends(base, path);
    if (!basePath) continue;
    const inherited = readChain(basePath, seen);
    chain.options = { ...chain.options, ...inherited.options };
    chain.baseUrl = inherited.baseUrl ?? chain.baseUrl;
    chain.pathsDir = inherited.pathsDir ?? chain.pathsDir;
  }
  const own = (json.compilerOptions && typeof json.compilerOptions === 'object' ? json.compilerOptions : {}) as Record<
    string,
    unknown
  >;
  chain.options = { ...chain.options, ...own };
  // Relative to the file that says them, as tsc reads them.
  if (typeof own.baseUrl === 'string') chain.baseUrl = resolve(dirname(path), own.baseUrl);
  if (own.paths !== undefined) chain.pathsDir = dirname(path);
  return chain;
}

function resolveExtends(specifier: string, from: string): string | undefined {
  if (specifier.startsWith('.') || isAbsolute(specifier)) {
    const path = resolve(dirname(from), specifier);
    return [path, `${path}.json`].find((candidate) => candidate.endsWith('.json') && existsSync(candidate));
  }
  const require = createRequire(from);
  for (const candidate of [specifier, `${specifier}.json`, `${specifier}/tsconfig.json`]) {
    try {
      return require.resolve(candidate);
    } catch {
      // next form
    }
  }
  return undefined;
}

/** JSON with comments and trailing commas, as tsconfig files are written. */
export function parseJsonc(text: string): unknown {
  return JSON.parse(scan(scan(text, dropComment), dropTrailingComma));
}

type Rule = (text: string, at: number) => { skip: number; keep: string } | undefined;

const dropComment: Rule = (text, at) => {
  if (text[at] !== '/') return undefined;
  if (text[at + 1] === '/') {
    const end = text.indexOf('\n', at);
    return { skip: (end === -1 ? text.length : end) - at, keep: '' };
  }
  if (text[at + 1] === '*') {
    const end = text.indexOf('*/', at + 2);
    return { skip: (end === -1 ? text.length : end + 2) - at, keep: ' ' };
  }
  return undefined;
};

const dropTrailingComma: Rule = (text, at) =>
  text[at] === ',' && /^\s*[}\]]/.test(text.slice(at + 1)) ? { skip: 1, keep: '' } : undefined;

/** Applies `rule` outside string literals. */
function scan(text: string, rule: Rule): string {
  let out = '';
  for (let i = 0; i < text.length;) {
    if (text[i] === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const hit = rule(text, i);
    if (hit) {
      out += hit.keep;
      i += hit.skip;
    } else {
      out += text[i++];
    }
  }
  return out;
}
