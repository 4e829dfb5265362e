// Opens a table page (memnb table -o page.html) in headless Chromium with every network request blocked,
// then pages, searches and sorts it, printing what is shown after each step as JSON; saves a screenshot.
// Run by the xunit TableBrowserTests:  node table.mjs PAGE.html SCREENSHOT.png
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [pagePath, screenshotPath] = process.argv.slice(2);
if (!pagePath || !screenshotPath) {
  console.error('usage: node table.mjs PAGE.html SCREENSHOT.png');
  process.exit(2);
}
const executablePath = process.env.MEMNB_CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(`${executablePath} not found: install Debian's chromium package (scripts/setup.sh does)`);
  process.exit(3);
}
const pageUrl = pathToFileURL(resolve(pagePath)).href;
const userDataDir = mkdtempSync(join(tmpdir(), 'memnb-chromium-'));
const attempted = [];
const consoleErrors = [];
const pageErrors = [];
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 }, timeout: 15000,
  });
  context.setDefaultTimeout(10000);
  await context.route('**/*', route => {
    const url = route.request().url();
    if (url === pageUrl) return route.continue();
    attempted.push(url);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', message => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', error => pageErrors.push(String(error)));
  await page.goto(pageUrl, { waitUntil: 'load' });
  const shown = () => page.evaluate(() => ({
    status: document.getElementById('rt-status').textContent,
    types: Array.from(document.querySelectorAll('#rt-table tbody tr')).filter(r => !r.hidden).map(r => r.cells[4].textContent),
    markup_elements: document.querySelectorAll('#rt-table tbody script, #rt-table tbody b').length,
  }));
  const steps = {};
  steps.first = await shown();
  await page.click('#rt-next');
  steps.second_page = await shown();
  await page.click('#rt-table th:nth-child(2)'); // Count: descending first
  steps.by_count = await shown();
  await page.click('#rt-table th:nth-child(2)'); // again: ascending
  steps.by_count_ascending = await shown();
  await page.fill('#rt-search', 'type-1');
  steps.search = await shown();
  await page.fill('#rt-search', '<b>');
  steps.markup_search = await shown();
  await page.screenshot({ path: screenshotPath, fullPage: false });
  console.log(JSON.stringify({ steps, requests_attempted: attempted, console_errors: consoleErrors, page_errors: pageErrors }));
} finally {
  if (context) await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
