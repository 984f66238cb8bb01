/**
 * Where the bench's files are. Generated, not for git: bench/.build (the
 * compiled fixtures and test/support/services.js) and
 * bench/node_modules/nestjs-worker (the library snapshot the subjects load;
 * see harness/build.mjs).
 */
import { fileURLToPath } from 'node:url';

export const benchDir = new URL('../', import.meta.url);
export const buildDir = new URL('.build/', benchDir);

export const rootPath = fileURLToPath(new URL('../', benchDir));
export const benchPath = fileURLToPath(benchDir);
export const buildPath = fileURLToPath(buildDir);
export const snapshotPath = fileURLToPath(new URL('node_modules/nestjs-worker/', benchDir));

/** A compiled fixture from bench/fixtures. */
export function fixture(name) {
  return new URL(`bench/fixtures/${name}`, buildDir);
}

export const servicesFile = new URL('test/support/services.js', buildDir);
