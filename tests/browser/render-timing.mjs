// Times a flame-graph page in headless Chromium (every request blocked): the page's script from its first
// JSON.parse (the start of flamegraph.js) to DOMContentLoaded (its first render done), the whole load, and
// re-renders driven through the page's own handlers (a time-range drag, a zoom, a search), each measured
// with performance.now() around the synchronous handler. Prints JSON. Run by the reports benchmark:
//   node render-timing.mjs PAGE.html
import { withOffline } from './offline.mjs';

const [pagePath] = process.argv.slice(2);
if (!pagePath) { console.error('usage: node render-timing.mjs PAGE.html'); process.exit(2); }
await withOffline(pagePath, { viewport: { width: 1200, height: 800 }, timeout: 60000 }, async ({ page, pageErrors, pageUrl }) => {
  await page.addInitScript(() => {
    const parse = JSON.parse;
    JSON.parse = function (text, reviver) {
      if (window.__memnbScriptStart === undefined) window.__memnbScriptStart = performance.now();
      return parse.call(this, text, reviver);
    };
    document.addEventListener('DOMContentLoaded', () => { window.__memnbDomReady = performance.now(); });
  });
  const started = Date.now();
  await page.goto(pageUrl, { waitUntil: 'load' });
  const wall = Date.now() - started;
  const facts = await page.evaluate(() => {
    const chart = document.getElementById('fg-chart');
    const frames = () => chart.querySelectorAll('.frame').length;
    const timed = action => { const t0 = performance.now(); action(); return Math.round((performance.now() - t0) * 10) / 10; };
    const nav = performance.getEntriesByType('navigation')[0];
    const result = {
      script_to_first_render_ms: Math.round((window.__memnbDomReady - window.__memnbScriptStart) * 10) / 10,
      load_event_ms: Math.round(nav.loadEventEnd - nav.startTime),
      frames_drawn: frames(),
    };
    const time = document.getElementById('fg-time-chart');
    if (time && !document.getElementById('fg-time').hidden) {
      const box = time.getBoundingClientRect();
      const at = f => ({ clientX: box.left + f * box.width, clientY: box.top + box.height / 2, bubbles: true });
      result.window_render_ms = timed(() => {
        time.dispatchEvent(new MouseEvent('mousedown', at(0.25)));
        window.dispatchEvent(new MouseEvent('mousemove', at(0.5)));
        window.dispatchEvent(new MouseEvent('mouseup', at(0.5)));
      });
      result.window_frames = frames();
      result.window_reset_ms = timed(() => document.getElementById('fg-time-reset').click());
    }
    const target = Array.from(chart.querySelectorAll('.frame')).find(el => el.getBoundingClientRect().width > 100 && el.getBoundingClientRect().width < 900);
    if (target) {
      result.zoom_render_ms = timed(() => target.click());
      result.zoom_reset_ms = timed(() => document.getElementById('fg-reset').click());
    }
    const search = document.getElementById('fg-search');
    result.search_render_ms = timed(() => { search.value = 'method1'; search.dispatchEvent(new Event('input')); });
    return result;
  });
  facts.goto_wall_ms = wall;
  facts.page_errors = pageErrors;
  return facts;
});
