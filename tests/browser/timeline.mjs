// Opens a standalone timeline page (memnb timeline -o page.html) in headless Chromium with every network
// request blocked, waits for plotly to draw, and prints what the chart holds as JSON; saves a screenshot.
// Run by the xunit TimelineBrowserTests:  node timeline.mjs PAGE.html SCREENSHOT.png ELEMENT_ID
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [pagePath, screenshotPath, elementId] = process.argv.slice(2);
if (!pagePath || !screenshotPath || !elementId) {
  console.error('usage: node timeline.mjs PAGE.html SCREENSHOT.png ELEMENT_ID');
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
    viewport: { width: 1200, height: 700 }, timeout: 15000,
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
  const started = Date.now();
  await page.goto(pageUrl, { waitUntil: 'load' });
  await page.waitForSelector(`#${elementId} .main-svg`);
  const facts = await page.evaluate(id => {
    const el = document.getElementById(id);
    return {
      traces: el.data.map(t => ({ name: t.name, mode: t.mode, x: Array.from(t.x), y: Array.from(t.y) })),
      drawn_lines: el.querySelectorAll('.scatterlayer .trace').length,
      drawn_markers: el.querySelectorAll('.scatterlayer .point').length,
      legend: Array.from(el.querySelectorAll('.legendtext'), t => t.textContent),
      x_title: el.querySelector('.xtitle')?.textContent ?? null,
    };
  }, elementId);
  facts.load_ms = Date.now() - started;
  await page.screenshot({ path: screenshotPath, fullPage: true });
  facts.requests_attempted = attempted;
  facts.console_errors = consoleErrors;
  facts.page_errors = pageErrors;
  process.stdout.write(JSON.stringify(facts) + '\n');
} catch (error) {
  console.error(String(error && error.stack || error));
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
