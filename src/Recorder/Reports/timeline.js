// The memory-over-time chart of a MemNotebook capture, drawn with plotly.js (a global Plotly, loaded
// before this script). An expression: the page appends ("element-id"); the chart's data is the JSON block
// with id element-id + "-data", written by TimelineReport. Names reach plotly as data, never as markup.
(function (elementId) {
  'use strict';
  var element = document.getElementById(elementId);
  var data = JSON.parse(document.getElementById(elementId + '-data').textContent);
  if (typeof Plotly === 'undefined') {
    element.textContent = 'plotly.js is not loaded: the memory chart cannot be drawn.';
    return;
  }

  function fmtBytes(b) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var v = b, i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return i === 0 ? b + ' B' : v.toFixed(1) + ' ' + units[i];
  }

  var MiB = 1048576;
  function mib(b) { return b / MiB; }
  var colours = { scope_live: '#2ca02c', rss: '#444', gen0: '#f6c85f', gen1: '#f49c4a', gen2: '#d9534f', loh: '#6f4e7c', poh: '#9dd866', tracked_live: '#1f77b4' };
  // A scoped capture (a notebook cell's) leads with its own tracked bytes; RSS then goes on a second axis on the
  // right (the kernel's hundreds of MiB would flatten the cell's line), and the process-wide series start hidden
  // (a click on the legend shows them). A series that is zero throughout is left out.
  var scoped = data.series.some(function (s) { return s.key === 'scope_live'; });
  var traces = [];
  data.series.forEach(function (s) {
    if (s.key !== 'scope_live' && s.bytes.every(function (b) { return b === 0; })) return;
    var secondary = scoped && s.key === 'rss';
    traces.push({
      type: 'scatter', mode: 'lines', name: secondary ? 'RSS (right axis)' : s.name, x: data.times_ms, y: s.bytes.map(mib),
      stackgroup: s.stack || undefined,
      yaxis: secondary ? 'y2' : 'y',
      visible: scoped && s.key !== 'scope_live' && s.key !== 'rss' ? 'legendonly' : true,
      line: { color: colours[s.key], width: s.stack ? 0.5 : 2, dash: s.key === 'tracked_live' || secondary ? 'dot' : 'solid' },
      text: s.bytes.map(fmtBytes),
      hovertemplate: '%{text}<extra>' + s.name + '</extra>'
    });
  });
  [0, 1, 2].forEach(function (generation) {
    var gcs = data.gcs.filter(function (gc) {
      return gc.generation === generation && (gc.start_ms !== null || gc.end_ms !== null);
    });
    if (gcs.length === 0) return;
    traces.push({
      type: 'scatter', mode: 'markers', name: 'GC gen ' + generation,
      x: gcs.map(function (gc) { return gc.start_ms !== null ? gc.start_ms : gc.end_ms; }),
      // The process's tracked bytes at the GC's start: on the RSS axis when the cell's own bytes are the main one.
      y: gcs.map(function (gc) { return mib(gc.live_bytes_at_start); }),
      yaxis: scoped ? 'y2' : 'y',
      marker: { symbol: 'triangle-down', size: 6 + 3 * generation, color: ['#999', '#e08214', '#b2182b'][generation] },
      text: gcs.map(function (gc) {
        return 'GC #' + gc.index + ' gen ' + gc.generation + (gc.induced ? ' (induced)' : '') +
          '<br>pause ' + (gc.pause_ms === null ? 'unknown' : gc.pause_ms.toFixed(3) + ' ms') +
          '<br>live at start ' + fmtBytes(gc.live_bytes_at_start);
      }),
      hovertemplate: '%{text}<extra></extra>'
    });
  });
  var layout = {
    margin: { l: 70, r: scoped ? 70 : 20, t: 20, b: 45 },
    xaxis: { title: { text: 'time (ms)' }, rangemode: 'tozero' },
    yaxis: { title: { text: scoped ? 'MiB (the cell)' : 'MiB' }, rangemode: 'tozero' },
    hovermode: 'closest',
    legend: { orientation: 'h', y: -0.18, traceorder: 'normal' }
  };
  if (scoped)
    layout.yaxis2 = { title: { text: 'MiB (RSS, GCs)' }, overlaying: 'y', side: 'right', rangemode: 'tozero', showgrid: false };
  Plotly.newPlot(element, traces, layout, { displaylogo: false, responsive: true });
})
