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

  var colours = { rss: '#444', gen0: '#f6c85f', gen1: '#f49c4a', gen2: '#d9534f', loh: '#6f4e7c', poh: '#9dd866', tracked_live: '#1f77b4' };
  var traces = [];
  data.series.forEach(function (s) {
    traces.push({
      type: 'scatter', mode: 'lines', name: s.name, x: data.times_ms, y: s.bytes,
      stackgroup: s.stack || undefined,
      line: { color: colours[s.key], width: s.stack ? 0.5 : 2, dash: s.key === 'tracked_live' ? 'dot' : 'solid' },
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
      y: gcs.map(function (gc) { return gc.live_bytes_at_start; }),
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
    margin: { l: 70, r: 20, t: 20, b: 45 },
    xaxis: { title: { text: 'time (ms)' }, rangemode: 'tozero' },
    yaxis: { title: { text: 'bytes' }, tickformat: '.3~s', ticksuffix: 'B', rangemode: 'tozero' },
    hovermode: 'closest',
    legend: { orientation: 'h', y: -0.18, traceorder: 'normal' }
  };
  Plotly.newPlot(element, traces, layout, { displaylogo: false, responsive: true });
})
