// Opens a table page (memnb table -o page.html) in headless Chromium with every network request blocked,
// then pages, searches and sorts it, printing what is shown after each step as JSON; saves a screenshot.
// Run by the xunit TableBrowserTests:  node table.mjs PAGE.html SCREENSHOT.png
import { withOffline } from './offline.mjs';

const [pagePath, screenshotPath] = process.argv.slice(2);
if (!pagePath || !screenshotPath) {
  console.error('usage: node table.mjs PAGE.html SCREENSHOT.png');
  process.exit(2);
}
await withOffline(pagePath, { viewport: { width: 1200, height: 900 } }, async ({ page, attempted, consoleErrors, pageErrors, pageUrl }) => {
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
  return { steps, requests_attempted: attempted, console_errors: consoleErrors, page_errors: pageErrors };
});
