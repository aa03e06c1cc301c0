"""Experiments ranked as dots with intervals (a forest plot), best on top, on an axis zoomed to
the data; the entries past ``top_k`` summarised in one row.

Drawn from values computed elsewhere (scores and their intervals, e.g. from
:mod:`alfred.results.scoring`); nothing here loads results or resamples.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from alfred.utils.plots.rankings import OTHER, SortMode, _rank, _Ranking, _rest_label, _style_rest_tick
from alfred.utils.plots.style import fit_text, new_axes, palette, styled, wrap_words

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

__all__ = ["draw_ranked_intervals"]


def _decimals(lo: float, hi: float) -> int:
    """Decimals that tell apart values a 200th of the span ``hi - lo`` apart (0 to 6)."""
    span = hi - lo if hi > lo else max(abs(hi), 1e-12)
    return int(min(6, max(0, math.ceil(-math.log10(span / 200.0)))))


def _limits(points: list[float]) -> tuple[float, float]:
    """The x-range of the drawn values, padded by 6% of it (1% of the value when all are equal):
    zoomed to the data, zero not forced in."""
    finite = [p for p in points if np.isfinite(p)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    pad = 0.06 * (hi - lo) if hi > lo else (0.01 * abs(hi) if hi else 0.05)
    return lo - pad, hi + pad


def draw_ranked_intervals(
    ax: Axes | None = None,
    *,
    scores: Mapping[str, float] | ArrayLike,
    lowers: Mapping[str, float] | ArrayLike | None = None,
    uppers: Mapping[str, float] | ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    xlabel: str = "",
    title: str = "",
    top_k: int = 30,
    sort: SortMode = "descending",
    categories: Mapping[str, str] | None = None,
    reference: str | None = None,
    points: Mapping[str, ArrayLike] | None = None,
    values_column: bool = True,
    max_label_len: int = 40,
    value_notes: Mapping[str, str] | None = None,
) -> Axes:
    """Rank entries with a dot and its interval each (a forest plot), best on top, on an axis
    zoomed to the data; the entries past ``top_k`` summarised in one grey row.

    A bar's length reads as a quantity from zero; when scores differ far from zero (0.90 to
    0.985), bars all look equal and their error bars are a few pixels wide. Dots with
    intervals on an axis spanning only the drawn values and intervals (6% padding, zero not
    forced in) keep every difference and every interval readable, as in rliable's interval
    estimate plots and medical forest plots. An entry without an interval (NaN bounds, e.g.
    a single seed) is drawn as a hollow dot and said so in the values column.

    The summary row (when more than ``top_k`` entries): a dashed line spans the rest's
    [min, max], a thick grey bar their interquartile range, a tick their median; the axis
    is zoomed to the rows shown one by one, so the summary row is clipped at its edges
    (an arrowhead marks where it goes on) and its tick label gives its numbers.

    Args:
        ax: axes to draw on; ``None`` creates a figure sized to the number of rows (9 inches
            wide, about 0.3 inch per row).
        scores: score per entry: a mapping ``name -> score`` or a sequence, shape (n,)
            (then ``labels`` names them). NaN scores sort last and draw no dot.
        lowers: lower bound of each score's interval, shape (n,) or a mapping by name; NaN
            where an entry has none. Give ``uppers`` too.
        uppers: upper bound of each score's interval, like ``lowers``.
        labels: entry names, shape (n,); required when ``scores`` is a sequence.
        xlabel: label of the score axis (horizontal).
        title: axes title.
        top_k: number of entries shown individually, 1 <= top_k <= ``MAX_BARS`` (100).
        sort: ``"descending"`` (highest first), ``"ascending"`` (lowest first: losses) or
            ``"none"`` (given order).
        categories: ``name -> category`` (e.g. ``"best"``, ``"interval overlaps the
            best's"``); each category gets a colour in the order first seen in the mapping,
            the entries in none are ``"other"``. The legend lists exactly the categories
            that a drawn row shows, and none at all when the rows show only one.
        reference: the name of an entry (e.g. the best) whose interval is shaded across
            every row, so that overlaps with it can be read off.
        points: ``name -> values`` drawn as small grey dots on the entry's row (e.g. the
            score of each seed), so that the data behind each estimate shows.
        values_column: print ``score [lower, upper]`` of each row at the right.
        max_label_len: names longer than this many characters are shortened.
        value_notes: ``name -> text`` printed in the values column instead of the interval
            (e.g. ``"all 3 seeds equal"`` for a zero-width interval, which shows no spread
            rather than certainty).

    Returns:
        The axes drawn on (its twin, holding the values column, is ``ax.figure.axes[-1]``).

    Raises:
        ValueError: on an unknown ``sort``, a bad ``top_k``, mismatched lengths, or a
            ``reference`` that is not an entry.
    """
    r = _rank(scores, labels, lowers, uppers, sort=sort, top_k=top_k)
    names, values, shown, rest = r.names, r.values, r.shown, r.rest
    n = values.size
    lo = r.lower if r.lower is not None else np.full(n, np.nan)
    up = r.upper if r.upper is not None else np.full(n, np.nan)
    cats = {str(k): str(v) for k, v in (categories or {}).items()}
    order = list(dict.fromkeys(cats.values()))
    colors = palette()
    cat_color = {c: colors[(3, 1, 2, 4, 5, 6, 8, 9)[i % 8]] for i, c in enumerate(order)}
    cat_color[OTHER] = colors[0]
    if reference is not None and reference not in names:
        raise ValueError(f"reference {reference!r} is not one of the entries")
    n_rows = len(shown) + (1 if len(rest) else 0)
    with styled():
        if ax is None:
            ax = new_axes((9.0, min(max(1.6, 1.0 + 0.3 * n_rows), 18.0)), n_rows=n_rows)
        y = np.arange(len(shown), dtype=float)
        row_cat = [cats.get(names[i], OTHER) for i in shown]
        with_interval = np.isfinite(lo[shown]) & np.isfinite(up[shown])
        drawn: dict[str, object] = {}
        for cat in dict.fromkeys(row_cat):
            sel = np.array([c == cat for c in row_cat])
            color = cat_color[cat]
            both = sel & with_interval
            if both.any():
                ax.hlines(y[both], lo[shown][both], up[shown][both], color=color, lw=2.2, zorder=2)
            full = sel & np.isfinite(values[shown])
            if (full & with_interval).any():
                drawn[cat] = ax.scatter(values[shown][full & with_interval], y[full & with_interval], s=36,
                                        color=color, edgecolor="white", linewidth=0.8, zorder=3)
            if (full & ~with_interval).any():
                hollow = ax.scatter(values[shown][full & ~with_interval], y[full & ~with_interval], s=36,
                                    facecolor="white", edgecolor=color, linewidth=1.5, zorder=3)
                drawn.setdefault(cat, hollow)
        drawn_values = [*values[shown], *lo[shown], *up[shown]]
        if points:
            px, py, jitter = [], [], np.random.default_rng(0)
            for yi, i in zip(y, shown):
                v = np.asarray(points.get(names[i], []), dtype=float).reshape(-1)
                v = v[np.isfinite(v)]
                px.append(v)
                py.append(yi + 0.25 + jitter.uniform(-0.07, 0.07, v.size))  # under the row; equal values apart
            px_all, py_all = np.concatenate(px) if px else np.zeros(0), np.concatenate(py) if py else np.zeros(0)
            if px_all.size:
                ax.scatter(px_all, py_all, s=10, color="0.4", alpha=0.6, linewidth=0, zorder=1.5,
                           label="_nolegend_")
                drawn_values += [px_all.min(), px_all.max()]
        ticks, tick_labels = list(y), [wrap_words(names[i], max_label_len, 1) for i in shown]
        if len(rest):
            rest_cats = Counter(cats[names[i]] for i in rest if names[i] in cats)
            summary, finite = _rest_label(r, set(), "")
            if rest_cats:
                counts = ", ".join(f"{k} {c!r}" for c, k in rest_cats.items())
                summary = summary.replace(" others:", f" others, incl. {counts}:", 1)
            y_rest = len(shown) + 0.4
            ticks.append(y_rest)
            tick_labels.append(summary)
        ax.set_yticks(ticks, tick_labels)
        if len(rest):
            _style_rest_tick(ax)
        ax.set_ylim(n_rows - 0.4 + (0.4 if len(rest) else 0.0), -0.6)  # first entry on top
        ax.set_xlim(*_limits(drawn_values))  # the rows shown, not the rest: they are what is compared
        if len(rest) and finite.size:
            _rest_row(ax, finite, y_rest)
        ax.grid(axis="y", visible=False)
        if reference is not None:
            k = names.index(reference)
            if np.isfinite(lo[k]) and np.isfinite(up[k]):
                ax.axvspan(lo[k], up[k], color=cat_color.get(cats.get(reference, OTHER)), alpha=0.1, lw=0, zorder=0)
        ax.set_xlabel(fit_text(ax, xlabel))
        if title:
            ax.set_title(title)
        if len(drawn) > 1:  # one kind of row needs no key; as many columns as fit the axes' width
            from matplotlib import rcParams

            width_pt = 0.5 * ax.figure.get_size_inches()[0] * 72  # names left, values right: about half is axes
            small = 0.833 * float(rcParams["font.size"])
            entry_pt = max(len(label) for label in drawn) * 0.62 * small + 3.0 * small
            ncols = max(1, min(3, len(drawn), int(width_pt // entry_pt)))
            ax.legend(list(drawn.values()), list(drawn), fontsize="small", loc="lower left",
                      bbox_to_anchor=(0.0, 1.0), ncols=ncols, frameon=False, borderaxespad=0.2)
        if values_column:
            _values_column(ax, r, lo, up, ticks, with_interval, value_notes or {})
    return ax


def _rest_row(ax: Axes, finite: np.ndarray, y_rest: float) -> None:
    """The rest's range (dashed), interquartile range (thick grey) and median (tick), clipped to
    the axis; a grey arrowhead at an edge says the range goes on past it."""
    q1, med, q3 = np.percentile(finite, [25, 50, 75])
    ax.hlines([y_rest], finite.min(), finite.max(), color="0.55", lw=1.0, ls="--", zorder=1)
    ax.hlines([y_rest], q1, q3, color="0.75", lw=7.0, zorder=1)
    ax.scatter([med], [y_rest], marker="|", s=120, color="0.3", zorder=2)
    x0, x1 = ax.get_xlim()
    for beyond, edge, marker in ((finite.min() < x0, x0, "<"), (finite.max() > x1, x1, ">")):
        if beyond:
            ax.scatter([edge], [y_rest], marker=marker, s=40, color="0.45", zorder=3, clip_on=False)


def _values_column(ax: Axes, r: _Ranking, lo: np.ndarray, up: np.ndarray, ticks: list[float],
                   with_interval: np.ndarray, notes: Mapping[str, str]) -> None:
    """``score [lower, upper]`` of each shown row as tick labels of a twin axis on the right."""
    finite = [v for v in (*r.values[r.shown], *lo[r.shown], *up[r.shown]) if np.isfinite(v)]
    d = _decimals(min(finite), max(finite)) if finite else 3

    def fmt(v: float) -> str:
        return "nan" if not np.isfinite(v) else (f"{v:.{d}f}" if abs(v) < 1e6 else f"{v:.4g}")

    texts = [f"{fmt(r.values[i])} ({notes[r.names[i]]})" if r.names[i] in notes else
             f"{fmt(r.values[i])} [{fmt(lo[i])}, {fmt(up[i])}]" if ok else f"{fmt(r.values[i])} (no interval)"
             for i, ok in zip(r.shown, with_interval)]
    twin = ax.twinx()
    ax.tick_params(axis="y", left=False)  # twinx turned the left tick marks on
    twin.set_ylim(ax.get_ylim())
    twin.set_yticks(ticks[: len(texts)], texts, fontsize="small", color="0.25")
    twin.grid(False)
    twin.tick_params(axis="y", length=0)
    for spine in twin.spines.values():
        spine.set_visible(False)
