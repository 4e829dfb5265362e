// Runs the script of a flame-graph page (the HTML file given as argument) against a small fake DOM,
// drives it (search, zoom, hide runtime frames, orientation, thread filter, tooltip) and prints what
// it showed after each step as JSON. No dependency; the xunit test FlameGraphScriptTests checks the output.
// The fake DOM has no innerHTML: a script that used it would fail here.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const page = readFileSync(process.argv[2], 'utf8');
const json = page.match(/<script type="application\/json" id="fg-data">([\s\S]*?)<\/script>/)[1];
const scripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)];
if (scripts.length !== 1) throw new Error(`expected one page script, found ${scripts.length}`);

class Element {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.parentNode = null;
    this.className = '';
    this.style = {};
    this.hidden = false;
    this.value = '';
    this.checked = false;
    this.disabled = false;
    this.text = '';
    this.listeners = {};
    this.clientWidth = 1000;
    this.offsetWidth = 100;
    this.offsetHeight = 40;
  }
  get textContent() { return this.text + this.children.map(c => c.textContent).join(''); }
  set textContent(value) { this.children = []; this.text = String(value); }
  set innerHTML(value) { throw new Error('innerHTML used'); }
  set outerHTML(value) { throw new Error('outerHTML used'); }
  insertAdjacentHTML() { throw new Error('insertAdjacentHTML used'); }
  setAttribute(name, value) { (this.attributes ??= {})[name] = String(value); }
  getAttribute(name) { return this.attributes?.[name] ?? null; }
  appendChild(child) {
    if (child.tagName === '#FRAGMENT') {
      for (const c of child.children) { c.parentNode = this; this.children.push(c); }
      child.children = [];
    } else {
      child.parentNode = this;
      this.children.push(child);
    }
    return child;
  }
  addEventListener(type, listener) { (this.listeners[type] ??= []).push(listener); }
  dispatch(type, event = {}) { for (const l of this.listeners[type] ?? []) l({ target: this, ...event }); }
}

const ids = ['fg-chart', 'fg-tip', 'fg-details', 'fg-match', 'fg-orient', 'fg-runtime', 'fg-thread', 'fg-search', 'fg-reset', 'fg-thread-label'];
const byId = Object.fromEntries(ids.map(id => [id, new Element('div')]));
byId['fg-data'] = new Element('script');
byId['fg-data'].textContent = json;
byId['fg-thread-label'].hidden = true;
const documentListeners = new Element('document');
const document = {
  getElementById: id => byId[id] ?? null,
  createElement: tag => new Element(tag),
  createDocumentFragment: () => new Element('#fragment'),
  addEventListener: (type, l) => documentListeners.addEventListener(type, l),
};
const window = { innerWidth: 1200, innerHeight: 800, addEventListener() {} };
vm.runInNewContext(scripts[0][1], { document, window, setTimeout, clearTimeout });

const chart = byId['fg-chart'];
const frames = () => chart.children.filter(c => c.fgBox);
const frame = name => frames().find(f => f.fgBox.node.name === name);
const snapshot = () => ({
  frames: frames().map(f => ({
    name: f.fgBox.node.name,
    label: f.textContent,
    className: f.className,
    left: f.style.left,
    width: f.style.width,
    top: f.style.top,
  })),
  height: chart.style.height,
  match: byId['fg-match'].textContent,
  details: byId['fg-details'].textContent,
  orient: byId['fg-orient'].textContent,
  orient_pressed: byId['fg-orient'].getAttribute('aria-pressed'),
  reset_disabled: byId['fg-reset'].disabled,
});

const steps = {};
steps.initial = snapshot();
byId['fg-search'].value = 'LOAD';
byId['fg-search'].dispatch('input');
steps.search = snapshot();
byId['fg-search'].value = '';
byId['fg-search'].dispatch('input');
chart.dispatch('click', { target: frame('native_helper') ?? frame('App.Parse') });
steps.zoom = snapshot();
byId['fg-runtime'].checked = true;
byId['fg-runtime'].dispatch('change');
steps.hide_runtime = snapshot();
byId['fg-reset'].dispatch('click');
steps.reset = snapshot();
byId['fg-orient'].dispatch('click');
steps.orient = snapshot();
chart.dispatch('mousemove', { target: frames()[0], clientX: 10, clientY: 10 });
steps.tooltip = { hidden: byId['fg-tip'].hidden, lines: byId['fg-tip'].children.map(c => c.textContent) };
steps.threads = {
  label_hidden: byId['fg-thread-label'].hidden,
  options: byId['fg-thread'].children.map(o => [o.value, o.textContent]),
};
if (steps.threads.options.length > 1) {
  byId['fg-thread'].value = steps.threads.options[2][0];
  byId['fg-thread'].dispatch('change');
  steps.thread = snapshot();
}
console.log(JSON.stringify(steps));
