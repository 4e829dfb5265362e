// The interactive flame graph of a MemNotebook capture: reads the tree that FlameJson embeds in
// the JSON block with id fg-data and draws it as absolutely positioned divs.
// Frame names come from user code: they reach the page only through textContent, never as markup.
(function () {
  'use strict';

  var ROW = 18;        // pixels per stack level
  var MIN_WIDTH = 0.5; // frames narrower than this many pixels are not drawn
  var LABEL_WIDTH = 28;

  var data = JSON.parse(document.getElementById('fg-data').textContent);
  var TOTAL = data.total_bytes;
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
    search: ''
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

  var fullTree = prepare(data.root);
  var collapsedTree = null;

  function baseTree() {
    if (!state.hideRuntime) return fullTree;
    if (!collapsedTree) collapsedTree = sortTree(collapse(fullTree));
    return collapsedTree;
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

    orientButton.textContent = state.flame ? 'Icicle' : 'Flame';
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

  var resizeTimer = 0;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(render, 100);
  });

  render();
})();
