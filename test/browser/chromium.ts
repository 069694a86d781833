/**
 * Headless Chromium for the console's tests: Debian's `chromium` package (`.ci/run` installs it) driven by
 * playwright-core, which downloads no browser of its own. CHROMIUM_PATH overrides where it is looked for.
 * Screenshots go to test-results/console/ (ignored by git): what the page looked like when a test ran.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const SCREENSHOT_DIR = path.resolve('test-results/console');

function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const found = candidates.find((p) => fs.existsSync(p));
  if (found) return found;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
  } catch {
    // A missing browser fails the test (it does not skip): CI must run it.
    throw new Error('the console tests need Chromium: `apt-get install -y chromium` (Debian), or set CHROMIUM_PATH');
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true });
}

/** A browser tab with the backend's basic-auth credentials, as a person who typed them in the prompt. */
export async function openPage(browser: Browser, credentials?: { username: string; password: string }): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...(credentials ? { httpCredentials: credentials } : {}) });
  const page = await context.newPage();
  // Script errors and failed requests surface in the test's failure instead of a page that silently stops.
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // A 404 is an answer the page handles (an endpoint an older server lacks, the queue dashboard in embedded
    // mode); server errors are caught below with their URL.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(`console error: ${msg.text()}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 500) errors.push(`${res.status()} from ${res.url()}`);
  });
  return { context, page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
