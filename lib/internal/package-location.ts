/**
 * Where this copy of the package was loaded from. The package ships an ES
 * module build and a CommonJS build; this file is the one place that differs
 * between them (`package-location-cjs.cts` replaces it in the CommonJS
 * build), because `import.meta` exists only in ES modules and `__dirname`
 * only in CommonJS.
 */
import { createRequire } from 'node:module';

/** URL of the build's root folder (the one holding `index.js`), with a trailing slash. */
export const BUILD_ROOT: URL = new URL('../', import.meta.url);

/** `require()` as seen from this package: finds the optional peers (`pg`, `ioredis`) the app installed. */
export const packageRequire: NodeJS.Require = createRequire(import.meta.url);
