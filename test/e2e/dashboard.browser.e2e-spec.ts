/**
 * The dashboard in a real browser (headless Chromium, playwright-core): a
 * Nest app with real threads and the dashboard behind TokenGuard. The page
 * shows the threads, receives live updates, lists a failure and a dead
 * letter with their errors (hostile markup in names and errors shown as
 * text, never run), retries the dead letter, pauses and resumes the loop,
 * cancels a running task; a visitor the guard does not admit sees the action
 * refused. Screenshots of the main views go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { until } from '../support/app.js';
import { artifactPath, browserSkip, launchChromium } from '../support/browser.js';
import { bootDashboardApp, DASHBOARD_TOKEN, TokenGuard, type DashboardApp } from '../support/dashboard.app.js';

// The page functions below run in the browser; this project compiles without the DOM's types.
declare const document: any;
declare const window: any;

const HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">';
const WAIT = { timeout: 15_000 };

describe('the dashboard in headless Chromium', { skip: browserSkip() }, () => {
  let app: DashboardApp;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  /** Errors the page's script threw or logged: there must be none. */
  const pageErrors: string[] = [];

  before(async () => {
    app = await bootDashboardApp({ dashboard: { guard: TokenGuard }, workers: 2 });
    browser = await launchChromium();
    admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await admin.addCookies([{ name: 'dashboard', value: DASHBOARD_TOKEN, url: app.origin }]);
    page = await admin.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`${app.origin}/workers`);
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the threads and goes live', async () => {
    await page.waitForSelector('#connection[data-state="live"]', WAIT);
    await page.waitForFunction(() => document.getElementById('threads-size')?.textContent === '2', undefined, WAIT);
    assert.equal(await page.textContent('#threads-alive'), '2');
    assert.equal(await page.textContent('#loop'), 'loop: running');
    assert.equal(await page.isVisible('#pause'), true, 'actions are offered: a guard is configured');
  });

  it('receives live updates as tasks complete', async () => {
    const before = Number(await page.textContent('#completed'));
    const updates = Number(await page.getAttribute('#updated', 'data-updates'));
    await Promise.all(Array.from({ length: 5 }, (_, n) => app.manager.run('health.ok', { n })));
    await page.waitForFunction((n) => Number(document.getElementById('completed')?.textContent) >= n, before + 5, WAIT);
    assert.ok(Number(await page.getAttribute('#updated', 'data-updates')) > updates);
    assert.ok((await page.getAttribute('#line-queued', 'points'))!.split(' ').length > 1, 'the chart is drawn');
  });

  it('lists a running task, then cancels it', async () => {
    const id = app.client.enqueue('health.hold', { ms: 30_000 });
    const row = page.locator(`#running tr[data-task-id="${id}"]`);
    await row.waitFor(WAIT);
    assert.equal(await row.locator('td').first().textContent(), 'health.hold');
    await page.screenshot({ path: artifactPath('dashboard-overview.png'), fullPage: true });
    await row.locator('button.cancel').click();
    await page.waitForFunction(
      () => /Cancel health\.hold: done/.test(document.getElementById('notice')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    await until(() => app.client.get(id)?.state === 'cancelled', 15_000, 'the task to be cancelled');
  });

  it('lists failures and dead letters with their errors, as text', async () => {
    const failing = app.client.enqueue('health.fail');
    const unknown = app.client.enqueue(HOSTILE_NAME, {});
    const failure = page.locator(`#failures tr[data-task-id="${failing}"]`);
    await failure.waitFor(WAIT);
    assert.equal(await failure.locator('.error-name').textContent(), 'HostileError<b>');
    assert.match((await failure.locator('summary').textContent())!, /<img src=x onerror="window.__pwned=1"> failed/);
    const letter = page.locator(`#dead-letters tr[data-task-id="${unknown}"]`);
    await letter.waitFor(WAIT);
    assert.equal(await letter.locator('td').nth(1).textContent(), HOSTILE_NAME);
    assert.match((await letter.locator('summary').textContent())!, /Unknown task/);
    await page.locator(`#dead-letters tr[data-task-id="${failing}"]`).waitFor(WAIT);
    await failure.locator('summary').click();
    assert.match((await failure.locator('pre').textContent())!, /at HealthTasks\.fail|health\.tasks/);
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no markup from a task ran');
    assert.equal(await page.locator('#failures img, #dead-letters img').count(), 0);
    await page.screenshot({ path: artifactPath('dashboard-failures.png'), fullPage: true });
  });

  it('retries a dead letter', async () => {
    const id = app.client.enqueue('health.fail', { message: 'retry me' });
    const row = page.locator(`#dead-letters tr[data-task-id="${id}"]`);
    await row.waitFor(WAIT);
    await row.locator('button.retry').click();
    await page.waitForFunction(
      () => /Retry health\.fail: done/.test(document.getElementById('notice')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    await until(
      () => (app.client.get(id)?.errors.length ?? 0) === 2,
      15_000,
      'the retried task to run (and fail) again',
    );
  });

  it('pauses and resumes the loop', async () => {
    await page.click('#pause');
    await page.waitForFunction(() => document.getElementById('loop')?.textContent === 'loop: paused', undefined, WAIT);
    assert.equal(app.manager.stats().loop, 'paused');
    await page.screenshot({ path: artifactPath('dashboard-paused.png') });
    await page.click('#resume');
    await page.waitForFunction(() => document.getElementById('loop')?.textContent === 'loop: running', undefined, WAIT);
    assert.equal(app.manager.stats().loop, 'running');
  });

  it('refuses an action to a visitor the guard does not admit', async () => {
    const stranger = await browser.newContext({ viewport: { width: 1280, height: 600 } });
    try {
      const visit = await stranger.newPage();
      await visit.goto(`${app.origin}/workers`);
      await visit.waitForSelector('#connection[data-state="live"]', WAIT);
      await visit.click('#pause');
      await visit.waitForFunction(
        () => /Pause refused — 403/.test(document.getElementById('notice')?.textContent ?? ''),
        undefined,
        WAIT,
      );
      assert.equal(app.manager.stats().loop, 'running');
      await visit.screenshot({ path: artifactPath('dashboard-refused.png') });
    } finally {
      await stranger.close();
    }
    assert.deepEqual(pageErrors, []);
  });
});
