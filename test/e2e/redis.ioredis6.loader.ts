/**
 * Module hooks that make `ioredis` mean the `ioredis6` devDependency (ioredis
 * 6 installed under an alias), for ES modules (this file, registered with
 * `module.register`) and for `require()` (patched by redis.ioredis6.register).
 * The library loads its optional peer by name, as it would in an app that
 * installed ioredis 6: nothing in lib/ knows about the alias.
 */
type Resolve = (specifier: string, context: unknown) => Promise<unknown>;

export const aliased = (specifier: string): string =>
  specifier === 'ioredis' || specifier.startsWith('ioredis/')
    ? `ioredis6${specifier.slice('ioredis'.length)}`
    : specifier;

export function resolve(specifier: string, context: unknown, next: Resolve): Promise<unknown> {
  return next(aliased(specifier), context);
}
