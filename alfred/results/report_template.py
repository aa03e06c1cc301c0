"""The report page's fixed parts: inline CSS and JavaScript (no external file, font or request),
and the helpers that escape and format every value put into it.

Colours are seaborn's "colorblind" palette, the one alfred's figures use:
#0173b2 blue, #de8f05 orange, #029e73 green, #d55e00 vermillion, #cc78bc pink,
#949494 grey, #56b4e9 sky.
"""
from __future__ import annotations

import html
import json
import time

CSS = """
:root {
  --blue: #0173b2; --orange: #de8f05; --green: #029e73; --red: #d55e00; --pink: #cc78bc;
  --grey: #949494; --sky: #56b4e9;
  --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --paper: #ffffff; --wash: #f6f8fa;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--wash); line-height: 1.45;
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--blue); }
a:focus-visible, button:focus-visible, input:focus-visible, summary:focus-visible {
  outline: 3px solid var(--orange); outline-offset: 2px;
}
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 20px; }
header.page { background: var(--paper); border-bottom: 1px solid var(--line); padding: 12px 0 10px; }
header.page .eyebrow { margin: 0; font-size: .8rem; letter-spacing: .06em; text-transform: uppercase;
  color: var(--blue); font-weight: 700; }
header.page h1 { margin: 2px 0 2px; font-size: 1.45rem; overflow-wrap: anywhere; }
.meta { margin: 0; color: var(--muted); font-size: .9rem; }
.meta .live { color: var(--ink); font-weight: 600; }
.meta .warn, .note.warn { color: #8a3b00; }
nav.toc { margin-top: 6px; font-size: .9rem; display: flex; flex-wrap: wrap; gap: 4px 14px; }
main { padding: 14px 0 30px; }
section.block { background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 18px 16px; margin: 0 0 16px; }
h2 { font-size: 1.2rem; margin: 0; overflow-wrap: anywhere; }
h2 .kind { font-size: .75rem; font-weight: 600; color: var(--muted); border: 1px solid var(--line);
  border-radius: 10px; padding: 1px 8px; vertical-align: middle; margin-left: 6px; }
h3 { font-size: 1rem; margin: 16px 0 6px; }
.storage { margin: 2px 0 10px; color: var(--muted); font-size: .85rem; overflow-wrap: anywhere; }
.cards { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr)); }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px 12px; min-width: 0; }
.card h3 { margin: 0 0 4px; font-size: .8rem; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); }
.big { font-size: 1.6rem; font-weight: 700; margin: 0; line-height: 1.2; overflow-wrap: anywhere; }
.big small { font-size: .95rem; font-weight: 500; color: var(--muted); }
.card p { margin: 4px 0; }
.small, .muted { font-size: .85rem; }
.muted { color: var(--muted); }
.bar { display: flex; height: 14px; border-radius: 7px; overflow: hidden; background: #eceff2;
  margin: 8px 0 6px; }
.bar.thin { height: 10px; margin: 3px 0 0; min-width: 120px; }
.bar span { display: block; height: 100%; }
.completed { background: var(--blue); } .crashed { background: var(--red); }
.running { background: var(--sky); } .interrupted { background: var(--pink); }
.unhatched { background: #c9cfd5; }
.legend { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 2px 12px;
  font-size: .85rem; }
.dot { display: inline-block; width: .7em; height: .7em; border-radius: 50%; margin-right: 4px;
  vertical-align: baseline; }
.badge { display: inline-block; font-weight: 700; border-radius: 12px; padding: 1px 10px; font-size: .9rem;
  border: 1px solid var(--grey); background: #f1f1f1; }
.badge.high { border-color: var(--green); background: color-mix(in srgb, var(--green) 16%, white); }
.badge.low { border-color: var(--orange); background: color-mix(in srgb, var(--orange) 18%, white); }
.badge.failed { border-color: var(--red); background: color-mix(in srgb, var(--red) 14%, white); }
dl.config { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0 10px; margin: 6px 0 0;
  font-size: .9rem; }
dl.config dt { color: var(--muted); overflow-wrap: anywhere; }
dl.config dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.pbest { list-style: none; padding: 0; margin: 4px 0 0; font-size: .85rem; }
.pbest li { display: grid; grid-template-columns: 7.5em minmax(0, 1fr) 3.5em; gap: 8px; align-items: center; }
.pbest .track { background: #eceff2; height: 8px; border-radius: 4px; overflow: hidden; }
.pbest .fill { background: var(--blue); height: 100%; }
.note { margin: 10px 0 0; padding: 8px 12px; border-left: 4px solid var(--grey); background: var(--wash);
  font-size: .9rem; overflow-wrap: anywhere; }
.note.warn { border-color: var(--orange); }
.note.bad { border-color: var(--red); }
.crash-box > summary { color: #8a3b00; }
.crashes { list-style: none; padding: 0; margin: 0; font-size: .88rem; }
.crashes li { padding: 6px 0; border-top: 1px solid var(--line); overflow-wrap: anywhere; }
.crashes code { display: block; white-space: pre-wrap; color: #7a2a00; }
.crashes .muted { margin-right: 4px; }
.tools { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; margin: 14px 0 4px; }
.tools h3 { margin: 0 10px 0 0; }
.tools + .muted { margin: 0 0 6px; }
.tools label { display: inline-flex; align-items: center; gap: 6px; font-weight: 600; max-width: 100%; }
.tools input { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px;
  width: min(400px, 100%); }
.table-wrap { max-height: 70vh; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; text-align: left; border-bottom: 1px solid #eef1f4; white-space: nowrap; }
td.num, th.num { text-align: right; }
thead th { position: sticky; top: 0; background: var(--wash); z-index: 1; padding: 0;
  border-bottom: 1px solid var(--line); }
thead th button { font: inherit; font-weight: 700; color: var(--ink); background: none; border: 0;
  padding: 6px 10px; width: 100%; text-align: inherit; cursor: pointer; white-space: nowrap; }
thead th button:hover { background: #e9edf1; }
thead th button::after { content: " \\2195"; color: #9aa4ad; font-weight: 400; }
thead th[aria-sort="ascending"] button::after { content: " \\25B2"; color: var(--blue); }
thead th[aria-sort="descending"] button::after { content: " \\25BC"; color: var(--blue); }
thead th.plain { padding: 6px 10px; }
tbody tr:hover { background: #f3f7fb; }
tr.best td { background: color-mix(in srgb, var(--blue) 10%, white); }
tr.best td:first-child { box-shadow: inset 4px 0 0 var(--blue); }
tr.overlap td:first-child { box-shadow: inset 4px 0 0 var(--sky); }
.tag { display: inline-block; font-size: .72rem; font-weight: 700; border-radius: 8px; padding: 0 6px;
  margin-left: 4px; color: #fff; background: var(--blue); }
.tag.overlap { background: var(--sky); color: var(--ink); }
.figures { display: grid; gap: 12px; align-items: start; grid-template-columns: minmax(0, 1fr); }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff;
  min-width: 0; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: .8rem; color: var(--muted); margin-top: 4px; overflow-wrap: anywhere; }
details > summary { cursor: pointer; font-weight: 700; margin: 16px 0 6px; }
.overview td { vertical-align: middle; }
.overview td:first-child { white-space: normal; min-width: 12em; }
.overview .metric { display: block; font-size: .78rem; color: var(--muted); }
footer { color: var(--muted); font-size: .8rem; padding: 0 0 24px; }
@media (max-width: 640px) {
  .wrap { padding: 0 10px; }
  section.block { padding: 12px 10px; }
  .big { font-size: 1.35rem; }
  th, td { padding: 4px 6px; }
  /* the overview as one block per search: every cell on its own labelled line, none off-screen */
  .overview thead { display: none; }
  .overview, .overview tbody, .overview tr, .overview td { display: block; width: 100%; }
  .overview tr { border-bottom: 1px solid var(--line); padding: 4px 0; }
  .overview td { border: 0; white-space: normal; text-align: left; padding: 2px 6px; }
  .overview td::before { content: attr(data-label) ": "; color: var(--muted); font-size: .8rem; }
  .overview td:first-child::before { content: ""; }
  .overview .metric { display: inline; margin-left: 6px; }
  .overview-wrap, .overview-wrap .table-wrap { max-height: none; }
}
@media print {
  .table-wrap { max-height: none; overflow: visible; }
  .tools { display: none; }
}
"""

# Sorting and filtering work on the rows already in the page (so the table reads without
# JavaScript too): each row's sort keys and text are read once, a sort re-appends the rows in
# one DocumentFragment, a filter sets ``hidden``. With 5,000 rows both take tens of ms.
JS = r"""
(function () {
  "use strict";
  var body = document.body;
  var refresh = Number(body.getAttribute("data-refresh")) || 0;
  var written = Number(body.getAttribute("data-written")) || 0;
  var stateKey = "alfred-report:" + location.pathname;

  function ago(seconds) {
    if (seconds < 90) return Math.max(0, Math.round(seconds)) + " s ago";
    if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
    if (seconds < 172800) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }
  function showAge() {
    var el = document.getElementById("age");
    if (!el || !written) return;
    var age = Date.now() / 1000 - written;
    el.textContent = "(" + ago(age) + ")";
    if (refresh && age > 3 * refresh + 60) {
      el.textContent += " \u2014 not rewritten since: is the --watch process still running?";
      el.className = "warn";
    }
  }

  function Table(table) {
    this.table = table;
    this.tbody = table.tBodies[0];
    this.rows = Array.prototype.slice.call(this.tbody.rows);
    this.heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    this.cells = this.rows.map(function (r) {  // per cell: its text, its words, its value as a number
      return Array.prototype.map.call(r.cells, function (c) {
        var text = c.textContent.trim().toLowerCase();
        var raw = c.hasAttribute("data-v") ? c.getAttribute("data-v") : text;
        return { text: text, words: text.split(/[^a-z0-9_.+-]+/).filter(Boolean),
                 num: raw === "" ? NaN : Number(raw) };
      });
    });
    this.names = this.heads.map(function (th) { return th.textContent.trim().toLowerCase(); });
    this.count = document.querySelector('[data-count-for="' + table.id + '"]');
    this.input = document.querySelector('[data-filter-for="' + table.id + '"]');
    this.keys = {};
    var self = this;
    this.heads.forEach(function (th, i) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var now = th.getAttribute("aria-sort");
        var first = th.getAttribute("data-first") || "ascending";
        var next = now ? (now === "ascending" ? "descending" : "ascending") : first;
        self.sort(i, next);
      });
    });
    if (this.input) {
      this.input.addEventListener("input", function () { self.filter(self.input.value); });
    }
  }
  Table.prototype.column = function (i) {
    if (this.keys[i]) return this.keys[i];
    var numeric = this.heads[i].getAttribute("data-type") === "num";
    var keys = this.rows.map(function (r) {
      var cell = r.cells[i];
      var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
      if (!numeric) return raw === "" ? null : raw;
      var v = raw === "" ? NaN : Number(raw);
      return isNaN(v) ? null : v;
    });
    this.keys[i] = { numeric: numeric, values: keys };
    return this.keys[i];
  };
  Table.prototype.sort = function (i, direction) {
    var col = this.column(i), values = col.values, sign = direction === "descending" ? -1 : 1;
    var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
    var order = this.rows.map(function (_, k) { return k; });
    order.sort(function (a, b) {
      var x = values[a], y = values[b];
      if (x === null || y === null) {  // missing values last, whichever the direction
        if (x === y) return a - b;
        return x === null ? 1 : -1;
      }
      var c = col.numeric ? (x < y ? -1 : x > y ? 1 : 0) : collator.compare(x, y);
      return c ? sign * c : a - b;
    });
    var fragment = document.createDocumentFragment();
    var rows = this.rows;
    order.forEach(function (k) { fragment.appendChild(rows[k]); });
    this.tbody.appendChild(fragment);
    this.heads.forEach(function (th, k) {
      if (k === i) th.setAttribute("aria-sort", direction); else th.removeAttribute("aria-sort");
    });
    this.sorted = [i, direction];
  };
  // A word matches a cell holding that whole value (0.5 matches 0.5, not 0.55 or 0.6467; numbers
  // are compared as numbers) or a word starting with it (crash matches "2 crashed"); name=value,
  // name>value, name<value (>=, <=) look in that column only. Every word must match.
  function parseTerm(term, names) {
    var m = /^([^=<>]+?)(<=|>=|=|<|>|:)(.+)$/.exec(term);
    if (!m) return { column: -1, op: "~", value: term };
    var column = names.indexOf(m[1]);
    return { column: column, name: m[1], op: m[2] === ":" ? "=" : m[2], value: m[3] };
  }
  function cellMatches(cell, t) {
    var n = Number(t.value);
    var numeric = t.value !== "" && !isNaN(n);
    if (t.op === "<" || t.op === ">" || t.op === "<=" || t.op === ">=") {
      if (!numeric || isNaN(cell.num)) return false;
      return t.op === "<" ? cell.num < n : t.op === ">" ? cell.num > n : t.op === "<=" ? cell.num <= n : cell.num >= n;
    }
    if (numeric && !isNaN(cell.num)) return cell.num === n;
    if (cell.text === t.value) return true;
    if (numeric) return cell.words.some(function (w) { return w === t.value; });
    return cell.words.some(function (w) { return w.indexOf(t.value) === 0; });
  }
  Table.prototype.filter = function (query) {
    var names = this.names;
    var terms = query.toLowerCase().split(/\s+/).filter(Boolean).map(function (t) { return parseTerm(t, names); });
    var unknown = terms.filter(function (t) { return t.name !== undefined && t.column < 0; });
    var shown = 0, cells = this.cells;
    this.rows.forEach(function (row, k) {
      var ok = !unknown.length && terms.every(function (t) {
        if (t.column >= 0) return cellMatches(cells[k][t.column], t);
        return cells[k].some(function (c) { return cellMatches(c, t); });
      });
      row.hidden = !ok;
      if (ok) shown += 1;
    });
    if (this.count) {
      this.count.textContent = unknown.length
        ? "no column " + unknown[0].name + " (columns: " + names.join(", ") + ")"
        : terms.length ? shown + " of " + this.rows.length + " shown" : this.rows.length + " shown";
    }
  };

  var tables = {};
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
    tables[t.id] = new Table(t);
  });

  // Across reloads in this tab (--watch reloads the page), keep the reader's sort, filter and scroll.
  function restoreState() {
    var saved = JSON.parse(sessionStorage.getItem(stateKey) || "null");
    if (!saved) return;
    Object.keys(saved.tables || {}).forEach(function (id) {
      var t = tables[id], s = saved.tables[id];
      if (!t) return;
      if (s.sorted) t.sort(s.sorted[0], s.sorted[1]);
      if (s.filter && t.input) { t.input.value = s.filter; t.filter(s.filter); }
    });
    window.scrollTo(0, saved.scroll || 0);
  }
  function saveState() {
    var state = { scroll: window.scrollY, tables: {} };
    Object.keys(tables).forEach(function (id) {
      var t = tables[id];
      state.tables[id] = { sorted: t.sorted || null, filter: t.input ? t.input.value : "" };
    });
    sessionStorage.setItem(stateKey, JSON.stringify(state));
  }
  try { restoreState(); } catch (e) { /* no storage (or an old state): start from the top */ }
  window.addEventListener("pagehide", function () { try { saveState(); } catch (e) { /* ignore */ } });
  showAge();
  setInterval(showAge, 30000);
})();
"""


def h(value) -> str:
    """``value`` as HTML text or attribute value."""
    return html.escape(str(value), quote=True)


def fmt(value: float | None, digits: int = 4) -> str:
    return "\u2014" if value is None else f"{value:.{digits}g}"


def fmt_value(value) -> str:
    """A hyperparameter value as text: floats to 6 significant digits, lists and dicts as JSON."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def confidence_parts(summary: dict) -> tuple[str, str]:
    """('high' | 'low' | 'unknown' | ..., the explanation) from summary.json's confidence text."""
    text = str(summary.get("confidence") or "unknown")
    word, _, rest = text.partition(":")
    return word.strip(), rest.strip()


def badge(word: str) -> str:
    cls = {"high": "high", "low": "low"}.get(word, "")
    return f'<span class="badge {cls}">{h(word)}</span>'


def metric_phrase(summary: dict, *, short: bool = False) -> str:
    """What a score is: ``last_10% test_accuracy per seed, <interval> over seeds; higher is better``."""
    settings = summary.get("settings") or {}
    metric = settings.get("performance_metric") or settings.get("y_metric") or "performance"
    direction = "lower" if settings.get("lower_is_better") else "higher"
    if short:
        return f"{settings.get('performance_aggregation', 'last')} {metric} \u00b7 {direction} is better"
    return (f"{settings.get('performance_aggregation', 'last')} {metric} per seed, "
            f"{summary.get('interval') or 'mean'} over seeds; {direction} is better")
