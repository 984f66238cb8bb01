/**
 * Imported first (or given to `node --import`): from then on `ioredis`
 * resolves to ioredis 6 in this process, through `import` and `require()`
 * alike, and in the processes it spawns (NODE_OPTIONS), such as the
 * scale-out test's.
 */
import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { aliased } from './redis.ioredis6.loader.js';

register(new URL('./redis.ioredis6.loader.js', import.meta.url));

type ResolveFilename = (request: string, ...rest: unknown[]) => string;
const cjs = Module as unknown as { _resolveFilename: ResolveFilename };
const resolveFilename = cjs._resolveFilename;
cjs._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
  return resolveFilename.call(this, aliased(request), ...rest);
};

const self = `--import=${fileURLToPath(import.meta.url)}`;
if (!(process.env.NODE_OPTIONS ?? '').includes(self)) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${self}`.trim();
}
