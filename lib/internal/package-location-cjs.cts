/**
 * The CommonJS twin of `package-location.ts` (the build puts it in that
 * file's place): the same two values, from `__dirname` and `__filename`.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const BUILD_ROOT: URL = pathToFileURL(join(__dirname, '..') + '/');

export const packageRequire: NodeJS.Require = createRequire(__filename);
