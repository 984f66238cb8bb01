/**
 * Finds the first part of a value that the structured clone algorithm (used
 * by `postMessage` between threads) refuses, so the error can name it rather
 * than echo V8's "could not be cloned".
 */
export interface UncloneablePart {
  /** Where it sits, e.g. `payload.user.save`. */
  path: string;
  /** What it is, e.g. `a function (save)`. */
  type: string;
}

const MAX_NODES = 100_000;

export function findUncloneable(value: unknown, root: string): UncloneablePart | undefined {
  // Fast path: primitives are what most payloads and results are made of.
  const t = typeof value;
  if (value === null || (t !== 'object' && t !== 'function' && t !== 'symbol')) return undefined;
  const seen = new Set<object>();
  let visited = 0;

  const walk = (v: unknown, path: string): UncloneablePart | undefined => {
    const type = typeof v;
    if (type === 'function') {
      const name = (v as { name?: string }).name;
      return { path, type: name ? `a function (${name})` : 'a function' };
    }
    if (type === 'symbol') return { path, type: `a symbol (${String(v)})` };
    if (v === null || type !== 'object') return undefined;
    const obj = v as object;
    if (seen.has(obj) || ++visited > MAX_NODES) return undefined;
    seen.add(obj);
    if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer || obj instanceof Date || obj instanceof RegExp) {
      return undefined;
    }
    if (typeof SharedArrayBuffer !== 'undefined' && obj instanceof SharedArrayBuffer) return undefined;
    if (obj instanceof Promise) return { path, type: 'a Promise (await it before returning)' };
    if (obj instanceof WeakMap || obj instanceof WeakSet) return { path, type: `a ${obj.constructor.name}` };
    if (typeof WeakRef !== 'undefined' && obj instanceof WeakRef) return { path, type: 'a WeakRef' };
    if (obj instanceof Map) {
      let i = 0;
      for (const [k, val] of obj) {
        const found = walk(k, `${path}.<key ${i}>`) ?? walk(val, `${path}.get(${describeKey(k)})`);
        if (found) return found;
        i++;
      }
      return undefined;
    }
    if (obj instanceof Set) {
      let i = 0;
      for (const item of obj) {
        const found = walk(item, `${path}.<item ${i++}>`);
        if (found) return found;
      }
      return undefined;
    }
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) {
        const item = obj[i];
        // Arrays of numbers are the common large case: skip the call per item.
        if (item === null || (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol'))
          continue;
        const found = walk(item, `${path}[${i}]`);
        if (found) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(obj)) {
      const found = walk((obj as Record<string, unknown>)[key], `${path}.${key}`);
      if (found) return found;
    }
    return undefined;
  };

  return walk(value, root);
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}
