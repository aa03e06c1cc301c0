"""Render a ``ReportView`` as one HTML page; every value goes through ``html.escape``.

Values from configs, summaries, crash messages and file names are escaped where they are
inserted (``h``), attribute values included, so a hyperparameter ``<script>...`` shows as text.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from alfred.protocol.layout import CRASH, SeedDir, StorageDir
from alfred.protocol.seed_state import SeedState, crashed_run
from alfred.protocol.storage_names import StorageName
from alfred.results.report_data import (
    MAX_CRASH_GROUPS,
    MAX_CRASH_RUNS,
    MAX_EMBEDDED_BYTES,
    ExperimentRow,
    ReportView,
    SearchView,
    embed_png,
)
from alfred.results.report_template import (
    CSS,
    JS,
    badge,
    confidence_parts,
    fmt,
    fmt_time,
    fmt_value,
    h,
    is_number,
    metric_phrase,
)
from alfred.results.report_rungs import rungs_block
from alfred.search.status import format_duration

__all__ = ["render_report"]

# state, css class, word: the order the state cell and the progress bar use
STATES = ((SeedState.COMPLETED, "completed", "completed"), (SeedState.CRASHED, "crashed", "crashed"),
          (SeedState.RUNNING, "running", "running"), (SeedState.INTERRUPTED, "interrupted", "interrupted"),
          (SeedState.UNHATCHED, "unhatched", "waiting"))


def href(view: ReportView, path: Path) -> str:
    """A link to ``path`` relative to the report's folder, URL-quoted and escaped."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(view.out_dir))
    return h(quote(Path(rel).as_posix()))


def rel_text(view: ReportView, path: Path) -> str:
    return h(Path(os.path.relpath(os.path.abspath(path), os.path.abspath(view.out_dir))).as_posix())


def search_title(search: SearchView) -> str:
    parsed = StorageName.parse(search.storage_dir.name)
    if parsed is None:
        return search.storage_dir.name
    return " \u00b7 ".join((parsed.alg_name, parsed.task_name, parsed.desc))


# ----------------------------------------------------------------------------- progress
def progress_bar(counts: dict[str, int], total: int, *, thin: bool = False) -> str:
    label = ", ".join(f"{counts.get(cls, 0)} {word}" for _, cls, word in STATES if counts.get(cls))
    spans = "".join(f'<span class="{cls}" style="width:{100 * counts.get(cls, 0) / total:.3f}%"></span>'
                    for _, cls, _ in STATES[:4] if total and counts.get(cls))
    return f'<div class="bar{" thin" if thin else ""}" role="img" aria-label="{h(label or "no seed")}">{spans}</div>'


def status_counts(search: SearchView) -> dict[str, int]:
    s = search.status
    return {"completed": s.completed, "crashed": s.crashed, "running": s.running,
            "interrupted": s.interrupted, "unhatched": s.unhatched}


def progress_card(search: SearchView) -> str:
    s = search.status
    counts = status_counts(search)
    pct = int(100 * s.fraction_done) if s.total else 0
    legend = "".join(f'<li><span class="dot {cls}"></span>{counts[cls]} {word}</li>'
                     for _, cls, word in STATES if counts[cls] or cls == "completed")
    if s.active:
        eta = format_duration(s.eta_s) if s.eta_s is not None else "unknown"
        timing = f"elapsed {h(format_duration(s.elapsed_s))} \u00b7 ETA {h(eta)}" + (
            f" ({h(s.eta_note)})" if s.eta_note else "")
    elif s.total:
        started = f" \u00b7 first run started {h(fmt_time(s.first_start_epoch))}" if s.first_start_epoch else ""
        timing = (f"nothing running, {s.interrupted} interrupted" if s.interrupted else "nothing left to run") + started
    else:
        timing = "this storage dir holds no seed"
    return (f'<article class="card"><h3>How far along</h3>'
            f'<p class="big">{pct}% <small>{s.finished} of {s.total} seeds done</small></p>'
            f'{progress_bar(counts, s.total)}<ul class="legend">{legend}</ul>'
            f'<p class="muted small">{timing}</p></article>')


# ----------------------------------------------------------------------------- what won, how sure
def best_card(view: ReportView, search: SearchView) -> str:
    summary = search.summary
    if summary is None:
        return (f'<article class="card"><h3>What won</h3><p class="big">\u2014</p>'
                f'<p class="muted">{h(search.summary_note)}</p></article>')
    best = summary.get("best_experiment")
    lo, hi = (summary.get("best_interval") or [None, None])[:2]
    row = next((r for r in search.experiments if r.number == best), None)
    n = f" \u00b7 n={row.n_seeds} seeds" if row is not None and row.n_seeds is not None else ""
    bounds = (f"all {row.n_seeds} seeds equal" if row is not None and row.all_seeds_equal
              else f"[{fmt(_num(lo))}, {fmt(_num(hi))}]")
    retrain = summary.get("retrain_of") if summary.get("kind") == "retrain" else None
    what = (f"retrain of experiment {h(retrain['experiment'])}" if isinstance(retrain, dict)
            else "retrain" if summary.get("kind") == "retrain" else f"experiment {h(best)}")
    config = {k: v for k, v in (summary.get("best_config") or {}).items()
              if k not in ("alg_name", "task_name", "desc", "seed")}
    keys = [k for k in search.varied if k in config] + [k for k in config if k not in search.varied]
    pairs = "".join(f"<dt>{h(k)}</dt><dd>{h(fmt_value(config[k]))}</dd>" for k in keys[:12])
    more = f'<p class="muted small">and {len(keys) - 12} more in the summary</p>' if len(keys) > 12 else ""
    note = summary.get("direction_note")
    summary_text = StorageDir(search.storage_dir).summary_files.text
    return (f'<article class="card"><h3>What won</h3><p class="big">{what}</p>'
            f'<p><strong>{h(fmt(_num(summary.get("best_score"))))}</strong> '
            f'<span class="muted">{h(bounds)}{h(n)}</span></p>'
            f'<p class="muted small">{h(metric_phrase(summary, short=True))}</p>'
            + (f'<dl class="config">{pairs}</dl>{more}' if pairs else "")
            + (f'<p class="muted small">{h(note)}</p>' if note else "")
            + f'<p class="small"><a href="{href(view, summary_text)}">{h(summary_text.name)}</a></p></article>')


def _num(value) -> float | None:
    return float(value) if is_number(value) and value == value and abs(value) != float("inf") else None


def sure_card(search: SearchView) -> str:
    summary = search.summary
    if summary is None:
        word = "failed" if search.summary_state == "failed" else "no summary"
        cls = "failed" if search.summary_state == "failed" else ""
        return (f'<article class="card"><h3>How sure</h3><p><span class="badge {cls}">{h(word)}</span></p>'
                f'<p class="muted small">{h(search.summary_note)}</p></article>')
    word, explanation = confidence_parts(summary)
    parts = [f'<article class="card"><h3>How sure</h3><p>{badge(word)} <span class="muted small">confidence'
             f'</span></p>']
    if explanation:
        parts.append(f"<p class=\"small\">{h(explanation)}</p>")
    p_best = _num(summary.get("p_best"))
    if p_best is not None:
        parts.append(f'<p class="small">P(best) <strong>{p_best:.2f}</strong>: experiment '
                     f'{h(summary.get("best_experiment"))} ranks first in {100 * p_best:.0f}% of bootstrap '
                     f'resamples</p>')
    top = [t for t in summary.get("p_best_top") or () if isinstance(t, dict) and _num(t.get("p_best")) is not None]
    if top:
        items = "".join(f'<li><span>experiment {h(t.get("experiment"))}</span><span class="track">'
                        f'<span class="fill" style="width:{100 * _num(t["p_best"]):.1f}%;display:block"></span>'
                        f'</span><span class="num">{_num(t["p_best"]):.2f}</span></li>' for t in top[:5])
        parts.append(f'<ul class="pbest" aria-label="P(best), top experiments">{items}</ul>')
    load = summary.get("load_report") or {}
    if isinstance(load.get("loaded"), int) and isinstance(load.get("n_seeds"), int):
        problems = [f"{len(load[k])} {k.replace('_', ' ')}" for k in ("crashed", "unfinished", "missing_recorder",
                                                                       "unreadable", "empty")
                    if isinstance(load.get(k), list) and load[k]]
        parts.append(f'<p class="muted small">{load["loaded"]} of {load["n_seeds"]} seeds scored'
                     + (f" ({h(', '.join(problems))})" if problems else "") + "</p>")
    if summary.get("created"):
        parts.append(f'<p class="muted small">summary made {h(summary["created"])}</p>')
    parts.append("</article>")
    return "".join(parts)


# ----------------------------------------------------------------------------- crashes, table
def crash_list(view: ReportView, search: SearchView) -> str:
    """Crashed seeds grouped by their exception line, most frequent first, with links to the files."""
    crashes = search.status.crashes or []
    if not crashes:
        return ""
    groups: dict[str, list] = {}
    for c in crashes:
        groups.setdefault(c.exception, []).append(SeedDir(Path(c.crash_file).parent))
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    items = []
    for exception, trees in ordered[:MAX_CRASH_GROUPS]:
        trees.sort(key=lambda t: (t.experiment_num, t.seed))
        runs = []
        for tree in trees[:MAX_CRASH_RUNS]:
            links = f'<a href="{href(view, tree.flag_path(CRASH))}">{h(CRASH)}</a>'
            log_path = crashed_run(tree.seed_dir).log_path
            if log_path.exists():
                links += f' \u00b7 <a href="{href(view, log_path)}">{h(log_path.name)}</a>'
            runs.append(f"{h(tree.experiment_dir.name)}/{h(tree.seed_dir.name)} ({links})")
        more = f" and {len(trees) - MAX_CRASH_RUNS} more" if len(trees) > MAX_CRASH_RUNS else ""
        items.append(f'<li><code>{h(exception)}</code><span class="muted">{len(trees)} seed'
                     f'{"s" if len(trees) != 1 else ""}:</span> {", ".join(runs)}{more}</li>')
    command = f"python -m alfred.status --storage_name {h(search.storage_dir.name)} --crashes"
    tail = (f'<p class="muted small">{len(ordered) - MAX_CRASH_GROUPS} other errors: {command}</p>'
            if len(ordered) > MAX_CRASH_GROUPS else "")
    n, k = len(crashes), len(groups)
    return (f'<details class="crash-box" open><summary>Crashes: {n} seed{"s" if n != 1 else ""}, {k} distinct '
            f'error{"s" if k != 1 else ""}</summary><ul class="crashes">{"".join(items)}</ul>{tail}</details>')


def state_cell(row: ExperimentRow) -> str:
    parts = [f'<span class="dot {cls}"></span>{row.states[state]} {word}' for state, cls, word in
             (STATES[1], STATES[3], STATES[2], STATES[4], STATES[0]) if row.states.get(state)]
    return " ".join(parts) or "no seed"


def experiments_table(search: SearchView, index: int) -> str:
    summary = search.summary or {}
    higher = not (summary.get("settings") or {}).get("lower_is_better")
    table_id = f"t{index}"
    numeric = {k: all(is_number(r.values.get(k)) for r in search.experiments if k in r.values)
               for k in search.varied}

    def head(label: str, kind: str, *, first: str = "", sort: str = "", title: str = "") -> str:
        attrs = f' data-type="{kind}"' + (f' data-first="{first}"' if first else "") + (
            f' aria-sort="{sort}"' if sort else "") + (f' title="{h(title)}"' if title else "")
        cls = ' class="num"' if kind == "num" else ""
        return f'<th scope="col"{cls}{attrs}><button type="button">{h(label)}</button></th>'

    ranked = search.summary is not None
    heads = [head("rank", "num", sort="ascending" if ranked else ""),
             head("experiment", "num", sort="" if ranked else "ascending")]
    heads += [head(k, "num" if numeric[k] else "text") for k in search.varied]
    heads += [head("score", "num", first="descending" if higher else "ascending"),
              head("interval", "num", title="sorts by the interval's lower bound"),
              head("seeds", "num", title="seeds the summary scored"), head("state", "text")]
    rows = []
    for r in search.experiments:
        cls = "best" if r.rank == 1 else ("overlap" if r.overlaps_best else "")
        tag = ('<span class="tag">best</span>' if r.rank == 1 else
               '<span class="tag overlap" title="interval overlaps the best one\'s">\u2248 best</span>'
               if r.overlaps_best else "")
        cells = [f'<td class="num" data-v="{r.rank if r.rank is not None else ""}">{h(r.rank or "")}{tag}</td>',
                 f'<td class="num">{r.number}</td>']
        for k in search.varied:
            value = r.values.get(k)
            text = "" if k not in r.values else fmt_value(value)
            data = f' data-v="{h(value)}"' if numeric[k] and is_number(value) else ""
            cells.append(f'<td{" class=num" if numeric[k] else ""}{data}>{h(text)}</td>')
        interval = "" if r.lower is None or r.upper is None else (
            f"all {r.n_seeds} seeds equal" if r.all_seeds_equal else f"[{fmt(r.lower)}, {fmt(r.upper)}]")
        cells += [f'<td class="num" data-v="{"" if r.score is None else repr(r.score)}">{h(fmt(r.score))}</td>',
                  f'<td class="num" data-v="{"" if r.lower is None else repr(r.lower)}">{h(interval)}</td>',
                  f'<td class="num">{h("" if r.n_seeds is None else r.n_seeds)}</td>',
                  f"<td>{state_cell(r)}</td>"]
        rows.append(f'<tr{f" class={cls}" if cls else ""}>{"".join(cells)}</tr>')
    shown = len(search.experiments)
    cut = (f'<p class="muted small">the {shown} best of {search.n_experiments} experiments are listed; all are '
           f'in summary/summary.json</p>') if shown < search.n_experiments else ""
    explain = (f'<p class="muted small">score: {h(metric_phrase(summary))}. Highlighted: the best, and the '
               f"experiments whose interval overlaps it.</p>") if search.summary else (
        '<p class="muted small">no scores until the search is summarised.</p>')
    return (f'<div class="tools"><h3 id="{table_id}-h">Experiments ({search.n_experiments})</h3>'
            f'<label>Filter <input type="search" data-filter-for="{table_id}" '
            f'placeholder="{h(_filter_example(search))}" aria-describedby="{table_id}-count" '
            f'title="words: each must match a whole value or the start of a word in some column; '
            f'name=value, name&gt;value, name&lt;value: in that column"></label>'
            f'<span class="muted small" id="{table_id}-count" data-count-for="{table_id}" aria-live="polite">'
            f'{shown} shown</span></div>{explain}{cut}'
            f'<div class="table-wrap"><table class="sortable" id="{table_id}" aria-labelledby="{table_id}-h">'
            f'<thead><tr>{"".join(heads)}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def _filter_example(search: SearchView) -> str:
    """The filter's placeholder: ``e.g. learning_rate=0.3 crashed`` with this search's names."""
    row = next((r for r in search.experiments if search.varied and search.varied[0] in r.values), None)
    if row is None:
        return "e.g. completed crashed"
    key = search.varied[0]
    return f"e.g. {key}={fmt_value(row.values[key])} crashed"


# ----------------------------------------------------------------------------- figures, sections
def figures(view: ReportView, paths: list[Path], empty: str) -> str:
    if not paths:
        return f'<p class="muted small">{h(empty)}</p>'
    items = []
    for p in paths:
        embedded = embed_png(p)
        caption = rel_text(view, p)
        if embedded is None or len(embedded[0]) > view.embed_budget:
            why = (f"the report keeps under {MAX_EMBEDDED_BYTES >> 20} MB of figures" if embedded is not None
                   else "too large to embed, or unreadable")
            items.append(f'<figure><figcaption><a href="{href(view, p)}">{caption}</a> (not embedded: {why})'
                         f'</figcaption></figure>')
        else:
            data, width, height = embedded
            view.embed_budget -= len(data)
            items.append(f'<figure><a href="{href(view, p)}"><img src="{data}" alt="{h(p.stem)}" width="{width}" '
                         f'height="{height}" loading="lazy"></a><figcaption>{caption}</figcaption></figure>')
    return f'<div class="figures">{"".join(items)}</div>'


def search_section(view: ReportView, search: SearchView, index: int) -> str:
    s, name = search.status, search.storage_dir.name
    notes = []
    if search.summary_note and search.summary is not None:
        notes.append(f'<p class="note warn">{h(search.summary_note)}</p>')
    elif search.summary_state == "failed":
        notes.append(f'<p class="note bad">{h(search.summary_note)}</p>')
    if s.interrupted:
        notes.append(f'<p class="note warn">{s.interrupted} interrupted seed(s) (dead process or stale heartbeat): '
                     f'python -m alfred.clean_interrupted --storage_name {h(name)} sends them back to UNHATCHED</p>')
    kind = f'<span class="kind">{h(search.kind)}</span>' if search.kind else ""
    plot_hint = (f"no plot arrays yet: python -m alfred.make_plot_arrays --storage_name {name}"
                 if not s.active else "no plot arrays yet: they are drawn with the summary")
    return (f'<section class="block search" id="s{index}" aria-labelledby="s{index}-h">'
            f'<h2 id="s{index}-h">{h(search_title(search))}{kind}</h2>'
            f'<p class="storage"><a href="{href(view, search.storage_dir)}">{h(name)}</a></p>'
            f'<div class="cards">{progress_card(search)}{best_card(view, search)}{sure_card(search)}</div>'
            f'{"".join(notes)}{crash_list(view, search)}{rungs_block(search)}{experiments_table(search, index)}'
            f'<h3>Summary figures</h3>'
            f'{figures(view, search.summary_figures, search.summary_note or "no summary figure")}'
            f'<h3>Plot arrays: every seed, one panel per experiment</h3>{figures(view, search.plot_arrays, plot_hint)}'
            f"</section>")


def overview(view: ReportView) -> str:
    """One row per search: what won, its score with the metric and direction it is on (searches
    of a list may rank on different metrics), how sure, how far along. On a phone each row is a
    block of labelled lines, so that the score and the confidence show on the first screen."""
    rows = []
    for i, search in enumerate(view.searches, start=1):
        s, summary = search.status, search.summary
        if summary is not None:
            lo, hi = (summary.get("best_interval") or [None, None])[:2]
            best = f"experiment {h(summary.get('best_experiment'))}"
            if summary.get("kind") == "retrain":
                best = "retrain" + (f" of experiment {h(summary['retrain_of'].get('experiment'))}"
                                    if isinstance(summary.get("retrain_of"), dict) else "")
            bounds = ("all seeds equal" if summary.get("best_all_seeds_equal")
                      else f"[{fmt(_num(lo))}, {fmt(_num(hi))}]")
            score = (f"{h(fmt(_num(summary.get('best_score'))))} {h(bounds)}"
                     f'<span class="metric">{h(metric_phrase(summary, short=True))}</span>')
            sure = badge(confidence_parts(summary)[0])
        else:
            best, score = "\u2014", ""
            sure = f'<span class="muted small">{h(search.summary_note)}</span>'
        rows.append(f'<tr><td data-label="search"><a href="#s{i}">{h(search_title(search))}</a></td>'
                    f'<td data-label="best">{best}</td><td class="num" data-label="score">{score}</td>'
                    f'<td data-label="confidence">{sure}</td>'
                    f'<td data-label="seeds done">{s.finished} / {s.total}'
                    f'{progress_bar(status_counts(search), s.total, thin=True)}</td></tr>')
    return ('<section class="block" id="overview" aria-labelledby="overview-h"><h2 id="overview-h">'
            f'{len(view.searches)} searches</h2><div class="table-wrap"><table class="overview"><thead><tr>'
            '<th class="plain" scope="col">search</th><th class="plain" scope="col">best</th>'
            '<th class="plain num" scope="col">score [95% interval], metric</th>'
            '<th class="plain" scope="col">confidence</th><th class="plain" scope="col">seeds done</th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div></section>')


def comparisons(view: ReportView) -> str:
    if view.comparison_dir is None:
        return ""
    empty = f"no comparison yet: {view.comparison_hint}"
    return ('<section class="block" id="comparisons" aria-labelledby="cmp-h"><h2 id="cmp-h">Comparison</h2>'
            f'{figures(view, view.comparison_figures, empty)}</section>')


def render_report(view: ReportView) -> str:
    """The whole page as one string."""
    from alfred import __version__

    view.embed_budget = MAX_EMBEDDED_BYTES
    live = view.refresh_s is not None and not view.finished
    refresh = f'<meta http-equiv="refresh" content="{max(1, round(view.refresh_s))}">' if live else ""
    n = len(view.searches)
    to_run = sum(s.status.unhatched + s.status.running for s in view.searches)
    interrupted = sum(s.status.interrupted for s in view.searches)
    if live:
        state = f'<span class="live">running: this page is rewritten and reloads every {view.refresh_s:g} s</span>'
    elif to_run:
        state = f"{to_run} seed{'s' if to_run != 1 else ''} still to run"
    elif not view.finished:
        state = "a summary is being written"
    elif interrupted:
        state = f"stopped: {interrupted} interrupted seed{'s' if interrupted != 1 else ''} (see below)"
    else:
        state = "all finished"
    toc = "".join(f'<a href="#s{i}">{h(search_title(s))}</a>' for i, s in enumerate(view.searches, start=1))
    if view.comparison_dir is not None:
        toc += '<a href="#comparisons">comparison</a>'
    body = (overview(view) if n > 1 else "") + "".join(
        search_section(view, s, i) for i, s in enumerate(view.searches, start=1)) + comparisons(view)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'{refresh}<title>{h(view.title)} \u00b7 alfred report</title><link rel="icon" href="data:,">'
        f"<style>{CSS}</style></head>"
        f'<body data-written="{view.written_epoch:.0f}" data-refresh="{h(view.refresh_s if live else "")}">'
        f'<header class="page"><div class="wrap"><p class="eyebrow">alfred report</p><h1>{h(view.title)}</h1>'
        f'<p class="meta">written {h(fmt_time(view.written_epoch))} <span id="age"></span> \u00b7 {n} '
        f'search{"es" if n != 1 else ""} \u00b7 {state}</p>'
        + (f'<nav class="toc" aria-label="sections">{toc}</nav>' if n > 1 or view.comparison_dir else "")
        + f'</div></header><main class="wrap">{body}</main>'
        f'<footer class="wrap">alfred {h(__version__)} \u00b7 made from the storage dirs\' FLAG-files and summary '
        f"files; one file, no server, no network</footer><script>{JS}</script></body></html>\n")
