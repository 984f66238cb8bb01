/**
 * Headless Chromium for the dashboard's browser suite: Debian's `chromium`
 * package (or CHROMIUM_PATH), driven by playwright-core (which downloads no
 * browser). Where it is missing the suite is skipped saying how to install
 * it, unless NESTJS_WORKER_TEST_REQUIRE_BROWSER=1 (CI, which installs it):
 * then the suite runs and fails on the missing browser.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const BROWSER_REQUIRED_ENV = 'NESTJS_WORKER_TEST_REQUIRE_BROWSER';
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where screenshots go (gitignored): <repo>/test-artifacts. */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

function installHint(problem: string): string {
  return `${problem}. Install it to run the dashboard's browser test: sudo apt-get install chromium (macOS: brew install --cask chromium), or set CHROMIUM_PATH to a Chromium or Chrome binary`;
}

/** `skip` of the browser suite: false where Chromium is there (or required), else why not and how to install it. */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM_PATH) || process.env[BROWSER_REQUIRED_ENV] === '1') return false;
  return installHint(`there is no Chromium at ${CHROMIUM_PATH}`);
}

export async function launchChromium(): Promise<Browser> {
  try {
    return await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      // Root in a container (CI) has no user namespace for Chromium's sandbox.
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
  } catch (error) {
    throw new Error(
      installHint(`Chromium cannot be started from ${CHROMIUM_PATH} (${(error as Error).message.split('\n')[0]})`),
      {
        cause: error,
      },
    );
  }
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return `${ARTIFACTS_DIR}${name}`;
}
