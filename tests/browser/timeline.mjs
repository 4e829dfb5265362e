// Opens a standalone timeline page (memnb timeline -o page.html) in headless Chromium with every network
// request blocked, waits for plotly to draw, and prints what the chart holds as JSON; saves a screenshot.
// Run by the xunit TimelineBrowserTests:  node timeline.mjs PAGE.html SCREENSHOT.png ELEMENT_ID
import { withOffline } from './offline.mjs';

const [pagePath, screenshotPath, elementId] = process.argv.slice(2);
if (!pagePath || !screenshotPath || !elementId) {
  console.error('usage: node timeline.mjs PAGE.html SCREENSHOT.png ELEMENT_ID');
  process.exit(2);
}
await withOffline(pagePath, { viewport: { width: 1200, height: 700 }, timeout: 10000 }, async ({ page, attempted, consoleErrors, pageErrors, pageUrl }) => {
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
  return facts;
});
