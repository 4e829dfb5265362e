// The table page of `memnb table -o` and of notebooks: sort by any column (click its header; again to
// reverse), search (every cell, case-insensitive), pages of 50 rows over every row of the page. Numbers sort
// by the data-v value of their cell (exact bytes and counts), names as text. When the page holds only the
// first rows of the table (data-rows on the table: how many it has), the pager says so. Reads the rendered
// rows; writes only the `hidden` flags, the header marks and the pager text.
(function () {
  'use strict';
  var PAGE = 50;
  var table = document.getElementById('rt-table');
  var search = document.getElementById('rt-search');
  var prev = document.getElementById('rt-prev');
  var next = document.getElementById('rt-next');
  var status = document.getElementById('rt-status');
  var body = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var rows = Array.prototype.slice.call(body.rows);
  var tableRows = Number(table.getAttribute('data-rows')) || rows.length;
  var state = { column: -1, descending: true, page: 0, query: '' };

  function key(row, column) {
    var cell = row.cells[column];
    var v = cell.getAttribute('data-v');
    return v === null ? cell.textContent : Number(v);
  }

  function compare(a, b) {
    var x = key(a, state.column), y = key(b, state.column);
    var c = typeof x === 'number' ? x - y : (x < y ? -1 : x > y ? 1 : 0);
    return state.descending ? -c : c;
  }

  function matching() {
    if (!state.query) return rows;
    var q = state.query.toLowerCase();
    return rows.filter(function (row) { return row.textContent.toLowerCase().indexOf(q) >= 0; });
  }

  function render() {
    var shown = matching();
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    var first = state.page * PAGE;
    var visible = new Set(shown.slice(first, first + PAGE));
    rows.forEach(function (row) { row.hidden = !visible.has(row); });
    status.textContent = shown.length === 0 ? 'no rows match'
      : 'rows ' + (first + 1) + '–' + Math.min(first + PAGE, shown.length) + ' of ' + shown.length +
        (shown.length < rows.length ? ' (' + rows.length + ' in all)' : '') + ', page ' + (state.page + 1) + ' of ' + pages +
        (tableRows > rows.length ? '; this page holds the first ' + rows.length + ' of the table\'s ' + tableRows + ' rows' : '');
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
    headers.forEach(function (h, i) {
      h.setAttribute('aria-sort', i !== state.column ? 'none' : state.descending ? 'descending' : 'ascending');
    });
  }

  headers.forEach(function (h, i) {
    h.tabIndex = 0;
    function sort() {
      state.descending = state.column === i ? !state.descending : h.getAttribute('data-type') === 'number';
      state.column = i;
      rows.sort(compare);
      rows.forEach(function (row) { body.appendChild(row); });
      state.page = 0;
      render();
    }
    h.addEventListener('click', sort);
    h.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
  });
  search.addEventListener('input', function () { state.query = search.value; state.page = 0; render(); });
  prev.addEventListener('click', function () { state.page--; render(); });
  next.addEventListener('click', function () { state.page++; render(); });
  render();
})();
