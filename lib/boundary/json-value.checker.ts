/** Deeper than this is taken for a cycle, or for data nobody means to report as progress. */
const MAX_DEPTH = 64;

/**
 * What in `value` JSON cannot carry as it is (`"a Map"`, `"NaN at .ratio"`),
 * or undefined when it is plain JSON data: null, booleans, finite numbers,
 * strings, arrays and plain objects of those. For `ctx.progress()`, whose
 * values every store keeps as JSON: refused rather than changed, like payloads.
 */
export function jsonProblem(value: unknown, path = '', depth = 0): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${value}${at(path)}`;
    case 'object': {
      if (value === null) return undefined;
      if (depth >= MAX_DEPTH) return `data nested deeper than ${MAX_DEPTH} levels (a cycle?)${at(path)}`;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const problem = jsonProblem(value[i], `${path}[${i}]`, depth + 1);
          if (problem) return problem;
        }
        return undefined;
      }
      const proto = Object.getPrototypeOf(value) as object | null;
      if (proto !== Object.prototype && proto !== null) {
        const name = (proto.constructor as { name?: string } | undefined)?.name || 'class';
        return `a ${name}${at(path)}`;
      }
      for (const key of Object.keys(value)) {
        const problem = jsonProblem((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
        if (problem) return problem;
      }
      return undefined;
    }
    default:
      return `${value === undefined ? 'undefined' : `a ${typeof value}`}${at(path)}`;
  }
}

const at = (path: string) => (path ? ` at ${path}` : '');
