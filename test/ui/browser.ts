/**
 * Helpers for the browser tests: the system Chromium driven by puppeteer-core, axe-core run inside
 * the page (through DevTools, so the page's strict CSP stays on), screenshots to an untracked
 * folder (copied into docs/screenshots only by `npm run docs:screenshots`).
 */
import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const ROOT = path.resolve(__dirname, '../..');
export const SCREENSHOT_DIR = path.join(ROOT, 'var', 'screenshots');
const DOCS_DIR = path.join(ROOT, 'docs', 'screenshots');

/** The Chromium on PATH (Debian: /usr/bin/chromium). */
export function chromiumPath(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, 'chromium');
    if (fs.existsSync(p)) return p;
  }
  throw new Error('chromium not on PATH');
}

export function launch(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in CI: Chromium's sandbox needs an unprivileged user.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
    defaultViewport: { width: 1280, height: 800 },
  });
}

/** Errors the page reported: console errors (CSP refusals among them) and uncaught exceptions. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

/** Serious and critical axe-core violations of the page as it is now. */
export async function axeViolations(page: Page): Promise<Array<{ id: string; impact: string; nodes: string[] }>> {
  const source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = (await page.evaluate(
    `axe.run(document).then((r) => ({ passes: r.passes.length, violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })) }))`,
  )) as { passes: number; violations: Array<{ id: string; impact: string; nodes: string[] }> };
  // A run that checked nothing would pass vacuously.
  if (result.passes < 5) throw new Error(`axe-core checked almost nothing (${result.passes} rules passed)`);
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Writes `<name>.png` to var/screenshots; with BERTH_UPDATE_SCREENSHOTS=1 also to docs/screenshots. */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file as `${string}.png`, fullPage: false });
  if (process.env.BERTH_UPDATE_SCREENSHOTS === '1') {
    fs.mkdirSync(DOCS_DIR, { recursive: true });
    fs.copyFileSync(file, path.join(DOCS_DIR, `${name}.png`));
  }
}

/** Text of the first element matching `selector` ('' when none). */
export function textOf(page: Page, selector: string): Promise<string> {
  return page.evaluate(`(document.querySelector(${JSON.stringify(selector)})?.textContent ?? '')`) as Promise<string>;
}

/** Waits (bounded) until `expr` (a page-side JS expression) is truthy. */
export async function until(page: Page, expr: string, timeout = 15_000): Promise<void> {
  try {
    await page.waitForFunction(expr, { timeout, polling: 50 });
  } catch (err) {
    const main = await textOf(page, 'main');
    throw new Error(`${(err as Error).message}\n  waiting for: ${expr}\n  page shows: ${main.slice(0, 600)}`);
  }
}

/**
 * Clicks the first element matching `selector` in one page-side step. Live redraws replace table
 * rows at any moment; `page.click` finds, scrolls and then clicks, so a redraw in between detaches
 * the node it found. Finding and clicking in the same task cannot race with a redraw.
 */
export async function press(page: Page, selector: string): Promise<void> {
  await until(page, `document.querySelector(${JSON.stringify(selector)})`);
  await page.evaluate(`document.querySelector(${JSON.stringify(selector)}).click()`);
}
