import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { BUILD_ROOT } from '../internal/package-location.js';

/** The page's files, shipped next to the build (scripts/build.mjs copies them; tsc does not). */
export const DASHBOARD_PAGE_DIR = new URL('dashboard/page/', BUILD_ROOT);

const ATTRIBUTE_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** `text` safe inside a double-quoted HTML attribute. */
export function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ATTRIBUTE_ESCAPES[char]!);
}

/** The page, its script and its style, read once at bootstrap. */
@Injectable()
export class DashboardAssets implements OnModuleInit {
  private html = '';
  script = '';
  style = '';

  onModuleInit(): void {
    const read = (name: string) => {
      const file = new URL(name, DASHBOARD_PAGE_DIR);
      try {
        return readFileSync(file, 'utf8');
      } catch (error) {
        throw new Error(
          `The dashboard page's file ${fileURLToPath(file)} cannot be read (${(error as Error).message}). It ships with the package: reinstall nestjs-worker, and if you bundle the app, copy node_modules/nestjs-worker/dist/*/dashboard/page next to the bundle's dashboard code.`,
          { cause: error },
        );
      }
    };
    this.html = read('dashboard.html');
    this.script = read('dashboard.js');
    this.style = read('dashboard.css');
  }

  /** The page for a request to `pathname`: its links are built on that path (the app's global prefix included). */
  page(pathname: string): string {
    const base = pathname.replace(/\/+$/, '');
    return this.html.replaceAll('{{base}}', escapeAttribute(base));
  }
}
