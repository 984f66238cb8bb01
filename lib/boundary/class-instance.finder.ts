/**
 * Finds values the structured clone algorithm copies without their class: a
 * class instance crosses a thread as a plain object (its own data, no
 * prototype, no methods), a Buffer as a plain Uint8Array, a subclass of Map
 * as a Map. Nothing fails at the boundary; the handler does, later
 * (`payload.norm is not a function`).
 */

/** Prototypes that cross as themselves. */
const KEPT: ReadonlySet<object | null> = new Set<object | null>([
  null,
  Object.prototype,
  Array.prototype,
  Date.prototype,
  RegExp.prototype,
  Map.prototype,
  Set.prototype,
  ArrayBuffer.prototype,
  SharedArrayBuffer.prototype,
  DataView.prototype,
  Boolean.prototype,
  Number.prototype,
  String.prototype,
  BigInt.prototype,
  Error.prototype,
  EvalError.prototype,
  RangeError.prototype,
  ReferenceError.prototype,
  SyntaxError.prototype,
  TypeError.prototype,
  URIError.prototype,
  ...[
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
  ].map((type) => type.prototype),
]);

/** What cannot cross at all: reported as NotCloneableError, not as a lost class. */
const REFUSED: ReadonlySet<object> = new Set<object>([Promise.prototype, WeakMap.prototype, WeakSet.prototype]);

/**
 * The class `value` would lose, when it is an instance of one: one
 * prototype lookup, no walk (it runs for every call, outside production).
 */
export function lostClassOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype || KEPT.has(proto) || REFUSED.has(proto!)) return undefined;
  const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'an anonymous class';
}

export interface LostClass {
  /** Where it sits: `payload.origin`, `payload.items[2]`. */
  readonly path: string;
  readonly className: string;
}

const MAX_NODES = 10_000;

/** The first class instance below `value` (not `value` itself), breadth first; a bounded walk, for tests. */
export function findNestedLostClass(value: unknown, root: string): LostClass | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const seen = new Set<object>([value]);
  const queue: Array<[unknown, string]> = [];
  const enqueueChildren = (v: object, path: string) => {
    if (v instanceof Map) {
      let i = 0;
      for (const [, item] of v) queue.push([item, `${path}.get(<key ${i++}>)`]);
    } else if (v instanceof Set) {
      let i = 0;
      for (const item of v) queue.push([item, `${path}.<item ${i++}>`]);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => queue.push([item, `${path}[${i}]`]));
    } else if (!ArrayBuffer.isView(v)) {
      for (const key of Object.keys(v)) queue.push([(v as Record<string, unknown>)[key], `${path}.${key}`]);
    }
  };
  if (lostClassOf(value) === undefined) enqueueChildren(value, root);
  for (let visited = 0; queue.length > 0 && visited < MAX_NODES; visited++) {
    const [item, path] = queue.shift()!;
    if (item === null || typeof item !== 'object' || seen.has(item)) continue;
    seen.add(item);
    const className = lostClassOf(item);
    if (className !== undefined) return { path, className };
    enqueueChildren(item, path);
  }
  return undefined;
}
