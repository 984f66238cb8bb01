import { join } from 'node:path';
import { projectConfigFor } from './tsconfig.reader.js';

/**
 * Where a bare specifier points through the `paths` of the importing file's
 * tsconfig (`@app/common` → `libs/common/src`, as `nest g library` writes
 * them), most specific pattern first; empty when no pattern matches. Test
 * runners map them in their own resolver (`moduleNameMapper`,
 * vite-tsconfig-paths), which a worker thread does not have.
 */
export function aliasTargets(specifier: string, fromFile: string): string[] {
  const paths = projectConfigFor(fromFile).paths;
  if (!paths || specifier.startsWith('.') || specifier.startsWith('/') || specifier.includes(':')) return [];
  let best: { prefixLength: number; targets: readonly string[]; star: string } | undefined;
  for (const [pattern, targets] of Object.entries(paths.patterns)) {
    const star = pattern.indexOf('*');
    if (star === -1) {
      if (pattern === specifier) return targets.map((target) => join(paths.base, target));
      continue;
    }
    const prefix = pattern.slice(0, star);
    const suffix = pattern.slice(star + 1);
    if (
      !specifier.startsWith(prefix) ||
      !specifier.endsWith(suffix) ||
      specifier.length < prefix.length + suffix.length
    )
      continue;
    if (best && best.prefixLength >= prefix.length) continue;
    best = {
      prefixLength: prefix.length,
      targets,
      star: specifier.slice(prefix.length, specifier.length - suffix.length),
    };
  }
  return best ? best.targets.map((target) => join(paths.base, target.replace('*', best.star))) : [];
}
