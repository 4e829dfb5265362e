// Opens a local page in Debian's headless Chromium (/usr/bin/chromium, or MEMNB_CHROMIUM; playwright-core
// never downloads a browser) with every request other than the page itself blocked and recorded, and
// collects console errors, page errors and dialogs. The shared start of the page scripts in this folder:
//   const run = await openOffline(pagePath, { viewport, timeout });
//   ... run.page ...; run.attempted, run.consoleErrors, run.pageErrors, run.dialogs, run.pageRouted
//   await run.close();
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export async function openOffline(pagePath, { viewport = { width: 1200, height: 700 }, timeout = 10000 } = {}) {
  const executablePath = process.env.MEMNB_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    console.error(`${executablePath} not found: install Debian's chromium package (scripts/setup.sh does)`);
    process.exit(3);
  }
  const pageUrl = pathToFileURL(resolve(pagePath)).href;
  const userDataDir = mkdtempSync(join(tmpdir(), 'memnb-chromium-'));
  const run = { pageUrl, attempted: [], consoleErrors: [], pageErrors: [], dialogs: [], pageRouted: 0, context: null, page: null };
  run.close = async () => {
    if (run.context) await run.context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  };
  try {
    run.context = await chromium.launchPersistentContext(userDataDir, {
      executablePath, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport, timeout: 15000,
    });
    run.context.setDefaultTimeout(timeout);
    await run.context.route('**/*', route => {
      const url = route.request().url();
      if (url === pageUrl) { run.pageRouted++; return route.continue(); }
      if (!run.attempted.includes(url)) run.attempted.push(url);
      return route.abort('blockedbyclient');
    });
    run.context.on('request', request => {
      if (request.url() !== pageUrl && !run.attempted.includes(request.url())) run.attempted.push(request.url());
    });
    run.page = run.context.pages()[0] ?? await run.context.newPage();
    run.page.on('console', message => { if (message.type() === 'error') run.consoleErrors.push(message.text()); });
    run.page.on('pageerror', error => run.pageErrors.push(String(error)));
    run.page.on('dialog', dialog => { run.dialogs.push(dialog.message()); dialog.dismiss().catch(() => {}); });
    return run;
  } catch (error) {
    await run.close();
    throw error;
  }
}

// Runs body(run) on an opened page, prints what it returns as one JSON line, and always closes the browser;
// a failure prints its stack and sets exit code 1.
export async function withOffline(pagePath, options, body) {
  let run;
  try {
    run = await openOffline(pagePath, options);
    const facts = await body(run);
    process.stdout.write(JSON.stringify(facts) + '\n');
  } catch (error) {
    console.error(String(error && error.stack || error));
    process.exitCode = 1;
  } finally {
    if (run) await run.close();
  }
}
