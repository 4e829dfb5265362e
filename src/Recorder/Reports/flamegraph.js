// The interactive flame graph of a MemNotebook capture: reads the tree that FlameJson embeds in
// the JSON block with id fg-data and draws it as absolutely positioned divs.
// Frame names come from user code: they reach the page only through textContent, never as markup.
(function () {
  'use strict';

  var ROW = 18;        // pixels per stack level
  var MIN_WIDTH = 0.5; // frames narrower than this many pixels are not drawn
  var LABEL_WIDTH = 28;

  var data = JSON.parse(document.getElementById('fg-data').textContent);
  var TOTAL = data.total_bytes; // the bytes of the view shown: the whole view, or its allocations in the time window
  var chart = document.getElementById('fg-chart');
  var tip = document.getElementById('fg-tip');
  var details = document.getElementById('fg-details');
  var matchInfo = document.getElementById('fg-match');
  var orientButton = document.getElementById('fg-orient');
  var runtimeBox = document.getElementById('fg-runtime');
  var threadSelect = document.getElementById('fg-thread');
  var searchBox = document.getElementById('fg-search');
  var resetButton = document.getElementById('fg-reset');

  var state = {
    flame: !data.inverted, // callers at the bottom; an inverted tree reads better as an icicle
    hideRuntime: false,
    thread: '',            // the name of the thread shown, '' for all
    zoomPath: [],          // keys of the frames from the shown root down to the zoomed frame
    search: '',
    window: null           // [first, last] time buckets (inclusive) whose allocations are shown, null for all
  };

  function key(node) { return node.kind + '\u0000' + node.name; }

  function prepare(node) {
    var stack = [node];
    while (stack.length) {
      var n = stack.pop();
      if (!n.children) n.children = [];
      for (var i = 0; i < n.children.length; i++) stack.push(n.children[i]);
    }
    return node;
  }

  // --- hide runtime frames: native and unknown frames merge into their parent ----------------

  function isRuntime(node) {
    return (node.kind === 'native' || node.kind === 'unknown') && node.name !== '[no stack]';
  }

  function copyOf(node) {
    return { name: node.name, kind: node.kind, total: node.total, own: node.own,
             count: node.count, own_count: node.own_count, children: [], index: {} };
  }

  function addChild(parent, child) {
    var k = key(child);
    var existing = parent.index[k];
    if (!existing) {
      parent.index[k] = child;
      parent.children.push(child);
      return;
    }
    existing.total += child.total;
    existing.own += child.own;
    existing.count += child.count;
    existing.own_count += child.own_count;
    for (var i = 0; i < child.children.length; i++) addChild(existing, child.children[i]);
  }

  function absorb(target, children) {
    for (var i = 0; i < children.length; i++) {
      var c = children[i];
      if (isRuntime(c)) {
        target.own += c.own;
        target.own_count += c.own_count;
        absorb(target, c.children);
      } else {
        addChild(target, collapse(c));
      }
    }
  }

  function collapse(node) {
    var out = copyOf(node);
    absorb(out, node.children);
    return out;
  }

  function sortTree(node) {
    var stack = [node];
    while (stack.length) {
      var n = stack.pop();
      n.children.sort(function (a, b) {
        return b.total - a.total || b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      });
      for (var i = 0; i < n.children.length; i++) stack.push(n.children[i]);
    }
    return node;
  }

  // --- time window: each node's own allocations per time bucket ("t": bucket, count, bytes triples) ----

  function windowed(node, first, last) {
    var own = 0, ownCount = 0, t = node.t;
    if (t) {
      for (var i = 0; i < t.length; i += 3) {
        if (t[i] >= first && t[i] <= last) { ownCount += t[i + 1]; own += t[i + 2]; }
      }
    }
    var out = { name: node.name, kind: node.kind, total: own, own: own, count: ownCount, own_count: ownCount, children: [] };
    for (var c = 0; c < node.children.length; c++) {
      var child = windowed(node.children[c], first, last);
      if (child.count === 0) continue;
      out.children.push(child);
      out.total += child.total;
      out.count += child.count;
    }
    return out;
  }

  var fullTree = prepare(data.root);
  var trees = {}; // by window and hide-runtime flag

  function baseTree() {
    var w = state.window ? state.window[0] + '-' + state.window[1] : 'all';
    var k = w + (state.hideRuntime ? '/collapsed' : '');
    if (trees[k]) return trees[k];
    var tree = fullTree;
    if (state.window) tree = trees[w] || (trees[w] = sortTree(windowed(fullTree, state.window[0], state.window[1])));
    if (state.hideRuntime) tree = sortTree(collapse(tree));
    trees[k] = tree;
    return tree;
  }

  // The root shown: the whole tree or one thread of it.
  function shownRoot() {
    var base = baseTree();
    if (!state.thread) return base;
    for (var i = 0; i < base.children.length; i++) {
      var c = base.children[i];
      if (c.kind === 'thread' && c.name === state.thread) return c;
    }
    return base;
  }

  // The zoomed frame and the frames above it, following zoomPath as far as it still leads.
  function resolveZoom(root) {
    var ancestors = [];
    var node = root;
    for (var i = 0; i < state.zoomPath.length; i++) {
      var next = null;
      for (var j = 0; j < node.children.length; j++) {
        if (key(node.children[j]) === state.zoomPath[i]) { next = node.children[j]; break; }
      }
      if (!next) break;
      ancestors.push(node);
      node = next;
    }
    return { node: node, ancestors: ancestors };
  }

  // --- formatting ---------------------------------------------------------------------------

  function fmtBytes(b) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var v = b, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return i === 0 ? b + ' B' : v.toFixed(1) + ' ' + units[i];
  }

  function fmtInt(n) { return Number(n).toLocaleString('en-US'); }

  function pct(part, whole) { return whole > 0 ? (100 * part / whole).toFixed(1) + '%' : '0.0%'; }

  function hash(text) {
    var h = 0;
    for (var i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
    return Math.abs(h);
  }

  function colour(node) {
    var h = hash(node.name);
    switch (node.kind) {
      case 'managed': return 'hsl(' + (15 + h % 35) + ', 85%, ' + (58 + h % 12) + '%)';
      case 'native': return 'hsl(' + (195 + h % 25) + ', 55%, ' + (62 + h % 10) + '%)';
      case 'thread': return 'hsl(' + (110 + h % 30) + ', 40%, 70%)';
      case 'root': return 'hsl(0, 0%, 82%)';
      default: return 'hsl(0, 0%, ' + (70 + h % 10) + '%)';
    }
  }

  function matches(node) {
    return state.search !== '' && node.name.toLowerCase().indexOf(state.search) >= 0;
  }

  // --- drawing ------------------------------------------------------------------------------

  function render() {
    TOTAL = baseTree().total;
    var root = shownRoot();
    var zoom = resolveZoom(root);
    state.zoomPath = state.zoomPath.slice(0, zoom.ancestors.length);
    var width = chart.clientWidth || 800;
    var boxes = [];
    var i;

    for (i = 0; i < zoom.ancestors.length; i++)
      boxes.push({ node: zoom.ancestors[i], depth: i, x: 0, w: width, ancestor: true, path: state.zoomPath.slice(0, i) });

    var first = zoom.ancestors.length;
    var stack = [{ node: zoom.node, depth: first, x: 0, w: width, path: state.zoomPath.slice() }];
    var rows = first + 1;
    while (stack.length) {
      var box = stack.pop();
      boxes.push(box);
      if (box.depth + 1 > rows) rows = box.depth + 1;
      var n = box.node;
      var x = box.x;
      for (var c = 0; c < n.children.length; c++) {
        var child = n.children[c];
        var w = n.total > 0 ? box.w * child.total / n.total : 0;
        if (w >= MIN_WIDTH)
          stack.push({ node: child, depth: box.depth + 1, x: x, w: w, path: box.path.concat([key(child)]) });
        x += w;
      }
    }

    chart.textContent = '';
    chart.style.height = (rows * ROW) + 'px';
    var fragment = document.createDocumentFragment();
    for (i = 0; i < boxes.length; i++) {
      var b = boxes[i];
      var el = document.createElement('div');
      el.className = 'frame ' + b.node.kind + (b.ancestor ? ' ancestor' : '') + (matches(b.node) ? ' match' : '');
      el.style.left = b.x + 'px';
      el.style.width = Math.max(b.w - 1, 0.5) + 'px';
      el.style.top = ((state.flame ? rows - 1 - b.depth : b.depth) * ROW) + 'px';
      el.style.height = (ROW - 1) + 'px';
      if (!matches(b.node)) el.style.backgroundColor = colour(b.node);
      if (b.w >= LABEL_WIDTH) el.textContent = b.node.name;
      el.fgBox = b;
      fragment.appendChild(el);
    }
    chart.appendChild(fragment);
    if (TOTAL === 0) {
      var empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = 'No allocations in this view.';
      chart.appendChild(empty);
    }

    // A toggle: its label names the icicle layout, aria-pressed (and the pressed look) says whether it is on.
    orientButton.setAttribute('aria-pressed', state.flame ? 'false' : 'true');
    resetButton.disabled = state.zoomPath.length === 0;
    showMatches(zoom.node);
    describe(zoom.node, 'Zoomed to');
  }

  function showMatches(node) {
    if (state.search === '') { matchInfo.textContent = ''; return; }
    var bytes = 0, frames = 0;
    var stack = [{ node: node, counted: false }];
    while (stack.length) {
      var item = stack.pop();
      var hit = matches(item.node);
      if (hit) {
        frames++;
        if (!item.counted) bytes += item.node.total; // nested matches are counted once
      }
      for (var i = 0; i < item.node.children.length; i++)
        stack.push({ node: item.node.children[i], counted: item.counted || hit });
    }
    matchInfo.textContent = frames === 0 ? 'no match'
      : 'matched ' + fmtInt(frames) + ' frame' + (frames === 1 ? '' : 's') + ': ' + fmtBytes(bytes) +
        ' (' + pct(bytes, TOTAL) + ' of total)';
  }

  function lines(node) {
    return [
      node.name,
      node.kind + ' frame',
      'total ' + fmtBytes(node.total) + ' (' + fmtInt(node.total) + ' bytes, ' + pct(node.total, TOTAL) + ' of total) in ' + fmtInt(node.count) + ' allocations',
      'own ' + fmtBytes(node.own) + ' (' + fmtInt(node.own) + ' bytes, ' + pct(node.own, TOTAL) + ' of total) in ' + fmtInt(node.own_count) + ' allocations'
    ];
  }

  function fill(target, textLines) {
    target.textContent = '';
    for (var i = 0; i < textLines.length; i++) {
      var line = document.createElement('div');
      line.textContent = textLines[i];
      if (i === 0) line.className = 'name';
      target.appendChild(line);
    }
  }

  function describe(node, prefix) {
    var l = lines(node);
    if (node === shownRoot() && state.zoomPath.length === 0) {
      details.textContent = '';
      return;
    }
    l[0] = prefix + ': ' + l[0];
    fill(details, l);
  }

  // --- events -------------------------------------------------------------------------------

  function frameAt(target) {
    while (target && target !== chart) {
      if (target.fgBox) return target.fgBox;
      target = target.parentNode;
    }
    return null;
  }

  chart.addEventListener('mousemove', function (e) {
    var box = frameAt(e.target);
    if (!box) { tip.hidden = true; return; }
    fill(tip, lines(box.node));
    tip.hidden = false;
    var x = e.clientX + 14, y = e.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth) x = Math.max(0, e.clientX - tip.offsetWidth - 14);
    if (y + tip.offsetHeight > window.innerHeight) y = Math.max(0, e.clientY - tip.offsetHeight - 14);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  });
  chart.addEventListener('mouseleave', function () { tip.hidden = true; });

  chart.addEventListener('click', function (e) {
    var box = frameAt(e.target);
    if (!box) return;
    state.zoomPath = box.path;
    render();
  });

  orientButton.addEventListener('click', function () { state.flame = !state.flame; render(); });
  runtimeBox.addEventListener('change', function () { state.hideRuntime = runtimeBox.checked; render(); });
  resetButton.addEventListener('click', function () { state.zoomPath = []; render(); });
  searchBox.addEventListener('input', function () { state.search = searchBox.value.toLowerCase(); render(); });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { state.zoomPath = []; tip.hidden = true; render(); }
  });

  if (data.split_threads) {
    var all = document.createElement('option');
    all.value = '';
    all.textContent = 'all threads';
    threadSelect.appendChild(all);
    for (var t = 0; t < fullTree.children.length; t++) {
      var thread = fullTree.children[t];
      if (thread.kind !== 'thread') continue;
      var option = document.createElement('option');
      option.value = thread.name;
      option.textContent = thread.name + ' — ' + fmtBytes(thread.total);
      threadSelect.appendChild(option);
    }
    threadSelect.addEventListener('change', function () {
      state.thread = threadSelect.value;
      state.zoomPath = [];
      render();
    });
    document.getElementById('fg-thread-label').hidden = false;
  }

  // --- memory over time, and selecting a time window ------------------------------------------

  var time = data.time;
  var timeBox = document.getElementById('fg-time');
  var timeChart = document.getElementById('fg-time-chart');
  var timeSvg = document.getElementById('fg-time-svg'); // parsed as SVG: its namespace is the one to create children in
  var windowInfo = document.getElementById('fg-window');
  var timeReset = document.getElementById('fg-time-reset');
  var memoryBlock = document.getElementById('fg-memory');
  var memory = memoryBlock ? JSON.parse(memoryBlock.textContent) : null;
  var barsAxis = document.getElementById('fg-y-bars');
  var liveAxis = document.getElementById('fg-y-live');
  var bucketBytes = [], bucketCounts = [];
  var drag = null; // [first, last] while the mouse button is down

  function fmtMs(ns) {
    if (ns < 1000) return ns + ' ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(1) + ' \u00b5s';
    var ms = ns / 1e6;
    return ms >= 1000 ? (ms / 1000).toFixed(2) + ' s' : ms.toFixed(1) + ' ms';
  }

  function windowText() {
    if (!state.window) return 'all allocation times: drag across the chart to show the allocations made in a time range';
    var start = state.window[0] * time.bucket_ns;
    var end = Math.min((state.window[1] + 1) * time.bucket_ns, Math.max(time.duration_ns, start));
    var tree = baseTree();
    return 'allocations made from ' + fmtMs(start) + ' to ' + fmtMs(end) + ': ' + fmtBytes(tree.total) + ' (' +
      fmtInt(tree.total) + ' bytes) in ' + fmtInt(tree.count) + ' allocations, ' + pct(tree.total, data.total_bytes) + ' of the view';
  }

  function svg(tag, attributes, parent) {
    var el = document.createElementNS(timeSvg.namespaceURI, tag);
    for (var name in attributes) el.setAttribute(name, attributes[name]);
    parent.appendChild(el);
    return el;
  }

  // The y axes beside the chart: 0, half and the top of a scale, in bytes (the bars' scale on the left, the
  // live line's on the right), each label centred on its gridline.
  function axis(element, max, top, bottom) {
    element.textContent = '';
    var ticks = [[max, top], [Math.round(max / 2), (top + bottom) / 2], [0, bottom]];
    for (var t = 0; t < ticks.length; t++) {
      var label = document.createElement('span');
      label.textContent = fmtBytes(ticks[t][0]);
      label.style.top = ticks[t][1] + 'px';
      element.appendChild(label);
    }
  }

  function drawTime() {
    // The plot runs from TOP to BOTTOM; below it, the time labels.
    var width = timeChart.clientWidth || 800, height = 86, top = 6, bottom = 72, plot = bottom - top;
    var buckets = time.buckets;
    var span = buckets * time.bucket_ns;
    var root = timeSvg;
    root.textContent = '';
    root.setAttribute('width', width);
    root.setAttribute('height', height);
    root.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    var maxBytes = 0, i;
    for (i = 0; i < buckets; i++) if (bucketBytes[i] > maxBytes) maxBytes = bucketBytes[i];
    svg('line', { x1: 0, y1: top + 0.5, x2: width, y2: top + 0.5, 'class': 'fg-grid' }, root);
    svg('line', { x1: 0, y1: top + plot / 2 + 0.5, x2: width, y2: top + plot / 2 + 0.5, 'class': 'fg-grid' }, root);
    var barWidth = width / buckets;
    var sel = drag || state.window;
    for (i = 0; i < buckets; i++) {
      if (bucketBytes[i] === 0) continue;
      var h = Math.max(1, plot * bucketBytes[i] / maxBytes);
      var inWindow = !sel || (i >= Math.min(sel[0], sel[1]) && i <= Math.max(sel[0], sel[1]));
      svg('rect', { x: i * barWidth, y: bottom - h, width: Math.max(barWidth - 0.5, 0.5), height: h,
                    'class': 'fg-bucket' + (inWindow ? '' : ' outside') }, root);
    }
    axis(barsAxis, maxBytes, top, bottom);
    if (memory && memory.times_ms.length > 0) {
      var maxLive = 0;
      for (i = 0; i < memory.tracked_live.length; i++) if (memory.tracked_live[i] > maxLive) maxLive = memory.tracked_live[i];
      var points = [];
      for (i = 0; i < memory.times_ms.length; i++) {
        var x = width * memory.times_ms[i] * 1e6 / span;
        var y = maxLive > 0 ? bottom - plot * memory.tracked_live[i] / maxLive : bottom;
        points.push(x.toFixed(1) + ',' + y.toFixed(1));
      }
      svg('polyline', { points: points.join(' '), 'class': 'fg-live' }, root);
      axis(liveAxis, maxLive, top, bottom);
    }
    if (sel) {
      var first = Math.min(sel[0], sel[1]), last = Math.max(sel[0], sel[1]);
      svg('rect', { x: first * barWidth, y: top, width: (last - first + 1) * barWidth, height: plot, 'class': 'fg-selection' }, root);
    }
    svg('line', { x1: 0, y1: bottom + 0.5, x2: width, y2: bottom + 0.5, 'class': 'fg-axis' }, root);
    svg('text', { x: 2, y: height - 2, 'class': 'fg-tick' }, root).textContent = '0';
    svg('text', { x: width - 2, y: height - 2, 'class': 'fg-tick end' }, root).textContent = fmtMs(time.duration_ns);
    windowInfo.textContent = windowText();
    timeReset.disabled = !state.window;
  }

  function bucketAt(e) {
    var box = timeChart.getBoundingClientRect();
    var b = Math.floor((e.clientX - box.left) / (box.width || 1) * time.buckets);
    return Math.max(0, Math.min(time.buckets - 1, b));
  }

  function setWindow(first, last) {
    state.window = first === null ? null : [Math.min(first, last), Math.max(first, last)];
    state.zoomPath = [];
    render();
    drawTime();
  }

  if (time && timeBox && timeChart && timeSvg && document.createElementNS) {
    for (var b = 0; b < time.buckets; b++) { bucketBytes.push(0); bucketCounts.push(0); }
    (function sum() {
      var stack = [fullTree];
      while (stack.length) {
        var n = stack.pop();
        if (n.t) for (var j = 0; j < n.t.length; j += 3) { bucketCounts[n.t[j]] += n.t[j + 1]; bucketBytes[n.t[j]] += n.t[j + 2]; }
        for (var c = 0; c < n.children.length; c++) stack.push(n.children[c]);
      }
    })();
    timeBox.hidden = false;
    // Which mark is which, and their units: the bars use the left axis, the line the right one.
    document.getElementById('fg-legend-bars').textContent =
      'bars: bytes this view allocated per ' + fmtMs(time.bucket_ns) + ' (left axis)';
    if (memory && memory.times_ms.length > 0) {
      document.getElementById('fg-legend-live-text').textContent = 'line: tracked live bytes of the whole capture (right axis)';
      document.getElementById('fg-legend-live').hidden = false;
    }
    timeChart.addEventListener('mousedown', function (e) {
      e.preventDefault();
      var at = bucketAt(e);
      drag = [at, at];
      drawTime();
    });
    window.addEventListener('mousemove', function (e) {
      if (!drag) return;
      var at = bucketAt(e);
      if (at !== drag[1]) { drag[1] = at; drawTime(); }
    });
    window.addEventListener('mouseup', function () {
      if (!drag) return;
      var d = drag;
      drag = null;
      setWindow(d[0], d[1]);
    });
    timeReset.addEventListener('click', function () { setWindow(null, null); });
    drawTime();
  }

  var resizeTimer = 0;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { render(); if (time && timeBox && timeChart && timeSvg) drawTime(); }, 100);
  });

  render();
})();
