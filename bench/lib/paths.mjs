/** Where the compiled bench files live (bench/.build, made by bench/run.mjs). */
export const benchDir = new URL('../', import.meta.url);
export const buildDir = new URL('.build/', benchDir);

/** A compiled fixture from bench/fixtures. */
export function fixture(name) {
  return new URL(`bench/fixtures/${name}`, buildDir);
}

export const servicesFile = new URL('test/support/services.js', buildDir);
