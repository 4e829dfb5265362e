// Opens a standalone flame-graph page (memnb flamegraph -o page.html) in headless Chromium with every
// network request blocked, zooms into a frame, searches, drags across the memory chart to select time
// buckets FIRST..LAST, and prints what the page shows as JSON; saves a screenshot. Run by the xunit
// FlameGraphBrowserTests:
//   node flamegraph.mjs PAGE.html SCREENSHOT.png ZOOM_FRAME SEARCH_TERM MARKUP_NAME [FIRST LAST]
// Uses the Debian chromium at /usr/bin/chromium (or MEMNB_CHROMIUM); never downloads a browser.
import { withOffline } from './offline.mjs';

const [pagePath, screenshotPath, zoomName, searchTerm, markupName, firstBucket, lastBucket] = process.argv.slice(2);
if (!pagePath || !screenshotPath || !zoomName || !searchTerm || !markupName) {
  console.error('usage: node flamegraph.mjs PAGE.html SCREENSHOT.png ZOOM_FRAME SEARCH_TERM MARKUP_NAME');
  process.exit(2);
}
await withOffline(pagePath, { viewport: { width: 1200, height: 700 }, timeout: 5000 }, async run => {
  const { page, context, attempted, consoleErrors, pageErrors, dialogs, pageUrl } = run;

  await page.goto(pageUrl, { waitUntil: 'load' });
  await page.waitForSelector('#fg-chart .frame');

  const frames = () => page.$$eval('#fg-chart .frame', els => els.map(el => ({
    text: el.textContent,
    className: el.className,
    width: Math.round(el.getBoundingClientRect().width * 100) / 100,
  })));

  const initialFrames = await frames();
  const facts = {
    header: await page.textContent('h1'),
    meta: await page.textContent('.meta'),
    chart_width: await page.$eval('#fg-chart', el => el.clientWidth),
    frames: initialFrames.length,
    root_text: initialFrames.find(f => f.className.split(' ').includes('root'))?.text ?? null,
    labels: initialFrames.map(f => f.text).filter(t => t !== ''),
    reset_disabled_initially: await page.$eval('#fg-reset', el => el.disabled),
  };

  // The memory chart's legend and y axes (labels centred on their gridlines, relative to the plot's top).
  facts.chart = await page.evaluate(() => {
    const plotTop = document.getElementById('fg-time-chart').getBoundingClientRect().top;
    const labels = id => Array.from(document.querySelectorAll(`#${id} span`), s => {
      const r = s.getBoundingClientRect();
      return { text: s.textContent, centre: Math.round((r.top + r.height / 2 - plotTop) * 10) / 10 };
    });
    return {
      legend_bars: document.getElementById('fg-legend-bars').textContent,
      legend_live: document.getElementById('fg-legend-live').hidden ? null : document.getElementById('fg-legend-live-text').textContent,
      y_bars: labels('fg-y-bars'),
      y_live: labels('fg-y-live'),
      gridlines: Array.from(document.querySelectorAll('#fg-time-svg .fg-grid, #fg-time-svg .fg-axis'), l => Number(l.getAttribute('y1')) - 0.5),
      tallest_bar: Math.max(...Array.from(document.querySelectorAll('#fg-time-svg .fg-bucket'), r => Number(r.getAttribute('height')))),
    };
  });

  // The orientation toggle: its label stays, aria-pressed tells the state; clicked twice, back to flame.
  const orient = () => page.$eval('#fg-orient', el => ({ label: el.textContent, pressed: el.getAttribute('aria-pressed') }));
  facts.orient = { initial: await orient() };
  await page.click('#fg-orient');
  facts.orient.clicked = await orient();
  facts.orient.root_on_top = await page.$eval('#fg-chart .frame.root', el => el.style.top === '0px');
  await page.click('#fg-orient');
  facts.orient.clicked_again = await orient();

  // Zoom: click the named frame; it becomes the full-width base of the drawing.
  const zoomIndex = initialFrames.findIndex(f => f.text === zoomName);
  if (zoomIndex < 0) throw new Error(`no frame labelled ${zoomName}`);
  await page.locator('#fg-chart .frame').nth(zoomIndex).click();
  const zoomed = await frames();
  const zoomedFrame = zoomed.find(f => f.text === zoomName && !f.className.split(' ').includes('ancestor'));
  facts.zoom = {
    frames: zoomed.length,
    ancestors: zoomed.filter(f => f.className.split(' ').includes('ancestor')).map(f => f.text),
    zoomed_width: zoomedFrame ? zoomedFrame.width : null,
    reset_disabled: await page.$eval('#fg-reset', el => el.disabled),
    details: await page.$eval('#fg-details', el => Array.from(el.children, c => c.textContent)),
    labels: zoomed.map(f => f.text).filter(t => t !== ''),
  };

  // The markup-named frame: drawn as text, never parsed as markup.
  facts.markup = await page.evaluate(name => ({
    frame_text_matches: Array.from(document.querySelectorAll('#fg-chart .frame')).some(el => el.textContent === name),
    frame_child_elements: Array.from(document.querySelectorAll('#fg-chart .frame'))
      .filter(el => el.textContent === name).map(el => el.childElementCount),
    script_elements: document.querySelectorAll('script').length,
    script_types: Array.from(document.querySelectorAll('script'), s => s.type),
    chart_script_elements: document.querySelectorAll('#fg-chart script').length,
  }), markupName);

  // Search (in the zoomed view).
  await page.fill('#fg-search', searchTerm);
  const searched = await frames();
  facts.search = {
    highlighted: searched.filter(f => f.className.split(' ').includes('match')).length,
    highlighted_labels: searched.filter(f => f.className.split(' ').includes('match')).map(f => f.text),
    match_text: await page.textContent('#fg-match'),
  };

  // Reset zoom returns to the whole tree.
  if (!await page.$eval('#fg-reset', el => el.disabled)) await page.click('#fg-reset');
  await page.fill('#fg-search', '');
  facts.reset = {
    frames: (await frames()).length,
    reset_disabled: await page.$eval('#fg-reset', el => el.disabled),
  };
  if (firstBucket !== undefined) {
    // Drag across the memory chart from the middle of bucket FIRST to the middle of bucket LAST.
    const box = await page.$eval('#fg-time-chart', el => { const r = el.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; });
    const buckets = await page.evaluate(() => JSON.parse(document.getElementById('fg-data').textContent).time.buckets);
    const at = b => box.x + (Number(b) + 0.5) * box.w / buckets;
    await page.mouse.move(at(firstBucket), box.y + box.h / 2);
    await page.mouse.down();
    await page.mouse.move(at(lastBucket), box.y + box.h / 2, { steps: 5 });
    await page.mouse.up();
    const shownFrames = () => page.evaluate(() => Array.from(document.querySelectorAll('#fg-chart .frame'), el => ({
      path: el.fgBox.path.map(k => k.split('\u0000')[1]),
      total: el.fgBox.node.total,
      count: el.fgBox.node.count,
    })));
    facts.window = {
      frames: await shownFrames(),
      text: await page.textContent('#fg-window'),
      reset_disabled: await page.$eval('#fg-time-reset', el => el.disabled),
      selection_rects: await page.$$eval('#fg-time-svg .fg-selection', els => els.length),
    };
    await page.screenshot({ path: screenshotPath, fullPage: true });
    await page.click('#fg-time-reset');
    facts.window_reset = {
      frames: (await shownFrames()).length,
      reset_disabled: await page.$eval('#fg-time-reset', el => el.disabled),
    };
  } else {
    await page.screenshot({ path: screenshotPath, fullPage: true });
  }

  facts.requests_attempted = attempted.slice();
  facts.page_routed = run.pageRouted;

  // The blocker itself: a load of any other URL is stopped before it reaches the network.
  const probe = await context.newPage();
  const probeUrl = 'http://memnb.invalid/probe';
  facts.probe_blocked = await probe.goto(probeUrl).then(() => false, error => /ERR_BLOCKED_BY_CLIENT/.test(String(error)));
  facts.probe_recorded = attempted.includes(probeUrl);
  facts.console_errors = consoleErrors;
  facts.page_errors = pageErrors;
  facts.dialogs = dialogs;
  return facts;
});
