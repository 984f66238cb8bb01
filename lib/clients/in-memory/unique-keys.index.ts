/**
 * `enqueue(..., { uniqueKey })` on the in-memory client: which task holds
 * each key of each task name. A key is held from enqueue until its task
 * completes, fails for good or is cancelled; the client frees it then.
 */
export class UniqueKeys<T extends { readonly id: string }> {
  private readonly holders = new Map<string, T>();

  /** The task holding `key` for task `name`, if any. */
  holder(name: string, key: string): T | undefined {
    return this.holders.get(scoped(name, key));
  }

  /** Records `task` as the holder (it may replace an older record of its id); false when another task holds the key. */
  claim(name: string, key: string, task: T): boolean {
    const at = scoped(name, key);
    const current = this.holders.get(at);
    if (current && current.id !== task.id) return false;
    this.holders.set(at, task);
    return true;
  }

  /** Frees the key if `task` (or a record of its id) holds it. */
  release(name: string, key: string, task: T): void {
    const at = scoped(name, key);
    if (this.holders.get(at)?.id === task.id) this.holders.delete(at);
  }

  get size(): number {
    return this.holders.size;
  }
}

/** Task names never contain NUL in practice, and a key may: the name goes first, its length fixes the split. */
function scoped(name: string, key: string): string {
  return `${name.length}:${name}\u0000${key}`;
}
