// Opens a report page in headless Chromium at a given width (every network request blocked) and measures
// its tables as drawn: per column, the computed alignment of the header and of the shown cells and how far
// the header's text sits from the cells' text on that side; numbers drawn on more than one line; whether the
// page scrolls sideways; the pager text. Prints JSON; saves a screenshot. Run by the xunit TableBrowserTests:
//   node layout.mjs PAGE.html WIDTH SCREENSHOT.png
import { withOffline } from './offline.mjs';

const [pagePath, width, screenshotPath] = process.argv.slice(2);
if (!pagePath || !width || !screenshotPath) {
  console.error('usage: node layout.mjs PAGE.html WIDTH SCREENSHOT.png');
  process.exit(2);
}
await withOffline(pagePath, { viewport: { width: Number(width), height: 900 } }, async ({ page, attempted, consoleErrors, pageErrors, pageUrl }) => {
  await page.goto(pageUrl, { waitUntil: 'load' });
  const facts = await page.evaluate(() => {
    // The text of an element as laid out: its left and right edges and on how many lines it is drawn.
    function text(el) {
      const range = document.createRange();
      range.selectNodeContents(el);
      const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
      if (rects.length === 0) return null;
      return {
        left: Math.min(...rects.map(r => r.left)),
        right: Math.max(...rects.map(r => r.right)),
        lines: new Set(rects.map(r => Math.round(r.top))).size,
      };
    }
    const tables = Array.from(document.querySelectorAll('table')).map(table => {
      const headers = Array.from(table.tHead ? table.tHead.rows[0].cells : []);
      const rows = Array.from(table.tBodies[0].rows).filter(r => !r.hidden);
      const columns = headers.map((th, i) => {
        const headerAlign = getComputedStyle(th).textAlign;
        const headerText = text(th);
        const cells = rows.map(r => r.cells[i]).filter(Boolean);
        const cellAligns = Array.from(new Set(cells.map(c => getComputedStyle(c).textAlign)));
        let offset = 0;
        for (const c of cells) {
          const t = text(c);
          if (!t || !headerText) continue;
          const d = headerAlign === 'right' ? Math.abs(headerText.right - t.right) : Math.abs(headerText.left - t.left);
          offset = Math.max(offset, d);
        }
        return {
          header: th.textContent,
          header_align: headerAlign,
          cell_aligns: cellAligns,
          max_edge_offset: Math.round(offset * 10) / 10,
          numeric: !cells.some(c => c.classList.contains('name')),
          wrapped_cells: cells.filter(c => (text(c)?.lines ?? 1) > 1).length,
          right: Math.round(th.getBoundingClientRect().right),
        };
      });
      return { id: table.id, rows_shown: rows.length, rows_in_page: table.tBodies[0].rows.length, columns };
    });
    const status = document.getElementById('rt-status');
    return {
      viewport_width: document.documentElement.clientWidth,
      scroll_width: document.documentElement.scrollWidth,
      status: status ? status.textContent : null,
      more: Array.from(document.querySelectorAll('p.more'), p => p.textContent),
      tables,
    };
  });
  await page.screenshot({ path: screenshotPath, fullPage: false });
  return { ...facts, requests_attempted: attempted, console_errors: consoleErrors, page_errors: pageErrors };
});
