"""Rankings: experiments as horizontal bars, best on top, the entries past ``top_k``
summarised in one row; the sorting and summary shared with :mod:`alfred.utils.plots.forest`.

Drawn from values computed elsewhere (scores and their intervals, e.g. from
:mod:`alfred.utils.stats`); nothing here loads results or resamples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from alfred.utils.plots.style import MAX_BARS, new_axes, palette, short_value, styled, wrap_words

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

__all__ = ["SortMode", "draw_ranked_bars"]

SortMode = Literal["descending", "ascending", "none"]
OTHER = "other"  # the legend entry of entries in no category


def _aligned(values: Mapping[str, float] | ArrayLike | None, names: list[str], what: str) -> np.ndarray | None:
    """Return ``values`` as a float array aligned with ``names`` (a mapping is looked up by name)."""
    if values is None:
        return None
    if isinstance(values, Mapping):
        by_name = {str(k): v for k, v in values.items()}
        missing = [k for k in names if k not in by_name]
        if missing:
            raise ValueError(f"{what} lacks entries for {missing[:5]}")
        return np.array([by_name[k] for k in names], dtype=float)
    arr = np.asarray(values, dtype=float).reshape(-1)
    if arr.size != len(names):
        raise ValueError(f"{what} has {arr.size} values for {len(names)} scores")
    return arr


@dataclass
class _Ranking:
    """Scores sorted best first: the entries shown one by one and the rest."""

    names: list[str]
    values: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    shown: np.ndarray
    rest: np.ndarray


def _rank(scores: Mapping[str, float] | ArrayLike, labels: Sequence[str] | None, lowers, uppers, *,
          sort: str, top_k: int) -> _Ranking:
    """Validate the arguments shared by the ranking figures and sort the entries."""
    if sort not in get_args(SortMode):
        raise ValueError(f"sort must be one of {get_args(SortMode)}, got {sort!r}")
    if isinstance(top_k, bool) or int(top_k) != top_k or not 1 <= top_k <= MAX_BARS:
        raise ValueError(f"top_k must be an integer in [1, {MAX_BARS}], got {top_k!r}: "
                         "more rows are illegible, the rest is summarised")
    if isinstance(scores, Mapping):
        if labels is not None:
            raise ValueError("labels must be None when scores is a mapping (its keys are the labels)")
        names = [str(k) for k in scores]
        values = np.array(list(scores.values()), dtype=float)
    else:
        values = np.asarray(scores, dtype=float).reshape(-1)
        if labels is None:
            raise ValueError("labels are required when scores is a sequence")
        names = [str(label) for label in labels]
        if len(names) != values.size:
            raise ValueError(f"got {len(names)} labels for {values.size} scores")
    if (lowers is None) != (uppers is None):
        raise ValueError("give both lowers and uppers, or neither")
    if sort == "descending":
        order = np.argsort(np.where(np.isnan(values), np.inf, -values), kind="stable")
    elif sort == "ascending":
        order = np.argsort(np.where(np.isnan(values), np.inf, values), kind="stable")
    else:
        order = np.arange(values.size)
    return _Ranking(names, values, _aligned(lowers, names, "lowers"), _aligned(uppers, names, "uppers"),
                    order[:top_k], order[top_k:])


def _rest_label(r: _Ranking, in_category: set[str], category_word: str) -> tuple[str, np.ndarray]:
    """The tick label of the summary row and the finite scores it summarises."""
    finite = r.values[r.rest][np.isfinite(r.values[r.rest])]
    n_cat = sum(r.names[i] in in_category for i in r.rest)
    extra = f", {n_cat} {category_word}" if n_cat else ""
    if not finite.size:
        return f"{len(r.rest)} others{extra}:\nno finite score", finite
    med, vmin, vmax = np.median(finite), finite.min(), finite.max()
    return (f"{len(r.rest)} others{extra}:\nmedian {short_value(med)} [{short_value(vmin)}, {short_value(vmax)}]",
            finite)


def _style_rest_tick(ax: Axes) -> None:
    ax.get_yticklabels()[-1].set_color("0.3")
    ax.get_yticklabels()[-1].set_fontstyle("italic")


# ----------------------------------------------------------------------------- ranked bars


def draw_ranked_bars(
    ax: Axes | None = None,
    *,
    scores: Mapping[str, float] | ArrayLike,
    lowers: Mapping[str, float] | ArrayLike | None = None,
    uppers: Mapping[str, float] | ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    ylabel: str = "",
    title: str = "",
    top_k: int = 30,
    sort: SortMode = "descending",
    highlight: set[str] | None = None,
    highlight_label: str = "highlighted",
    max_label_len: int = 40,
) -> Axes:
    """Rank entries (e.g. experiments) with horizontal bars from 0, best on top, others summarised.

    Bars suit quantities whose zero means something (counts, shares); scores whose
    differences matter far from zero (accuracies of 0.90-0.99) read better as dots with
    intervals on an axis zoomed to the data: :func:`draw_ranked_intervals`. Only the first
    ``top_k`` entries after sorting get a bar; the remaining ones are summed up by one grey
    bar at the bottom: its length is their median, its whisker spans their [min, max], and
    its tick label reads ``"N others: median X [min, max]"``. (The 0.2 grouped vertical bars
    are :func:`alfred.utils.plots.bar_chart`.)

    Args:
        ax: axes to draw on; ``None`` creates a figure sized to the number of bars
            (8 inches wide, about 0.3 inch per bar).
        scores: score per entry: a mapping ``name -> score`` or a sequence, shape (n,)
            (then ``labels`` names them). NaN scores sort last and draw no bar.
        lowers: lower bound of each score's interval (e.g. a bootstrap CI), shape (n,) or a
            mapping by name; drawn as asymmetric error bars. Give ``uppers`` too.
        uppers: upper bound of each score's interval, like ``lowers``.
        labels: entry names, shape (n,); required when ``scores`` is a sequence, must be
            ``None`` when it is a mapping. Long names are cut between words, never inside one.
        ylabel: label of the score axis (the horizontal axis, since bars are horizontal).
        title: axes title.
        top_k: number of entries shown individually, 1 <= top_k <= ``MAX_BARS`` (100).
        sort: ``"descending"`` (highest score first: higher is better), ``"ascending"``
            (lowest first: e.g. losses) or ``"none"`` (given order; the first ``top_k`` shown).
        highlight: names drawn in a distinct colour with a legend entry, e.g. experiments
            whose interval overlaps the best one's. The legend has an entry per colour
            that a bar shows: no "other" entry when every bar is highlighted.
        highlight_label: legend text for the highlighted entries.
        max_label_len: names longer than this many characters are shortened.

    Returns:
        The axes drawn on.

    Raises:
        ValueError: on an unknown ``sort``, a bad ``top_k``, or mismatched lengths.
    """
    r = _rank(scores, labels, lowers, uppers, sort=sort, top_k=top_k)
    names, values, shown, rest = r.names, r.values, r.shown, r.rest
    highlight_set = {str(h) for h in (highlight or set())}
    n_rows = len(shown) + (1 if len(rest) else 0)

    from matplotlib.patches import Patch

    base, hl_color = palette()[0], palette()[1]
    with styled():
        if ax is None:
            ax = new_axes((8.0, min(1.2 + 0.3 * n_rows, 18.0)), n_rows=n_rows)
        y = np.arange(len(shown), dtype=float)
        bar_colors = [hl_color if names[i] in highlight_set else base for i in shown]
        xerr = None
        if r.lower is not None and r.upper is not None:
            xerr = np.vstack([np.nan_to_num(np.clip(values - r.lower, 0, None)),
                              np.nan_to_num(np.clip(r.upper - values, 0, None))])[:, shown]
        ax.barh(y, values[shown], xerr=xerr, color=bar_colors, height=0.7,
                error_kw={"ecolor": "0.2", "capsize": 2.5, "elinewidth": 1.0})
        for yi, i in zip(y, shown):
            if np.isnan(values[i]):
                ax.text(0.0, yi, " no score", va="center", ha="left", color="0.4", fontsize="small")
        tick_labels = [wrap_words(names[i], max_label_len, 1) for i in shown]
        ticks = list(y)
        if len(rest):
            summary, finite = _rest_label(r, highlight_set, highlight_label)
            y_rest = len(shown) + 0.4
            if finite.size:
                med, vmin, vmax = np.median(finite), finite.min(), finite.max()
                ax.barh([y_rest], [med], xerr=[[med - vmin], [vmax - med]], color="0.8",
                        edgecolor="0.45", hatch="//", height=0.7,
                        error_kw={"ecolor": "0.45", "capsize": 2.5, "elinewidth": 1.0, "ls": "--"})
            ticks.append(y_rest)
            tick_labels.append(summary)
        ax.set_yticks(ticks, tick_labels)
        if len(rest):
            _style_rest_tick(ax)
        ax.set_ylim(n_rows - 0.4 + (0.4 if len(rest) else 0.0), -0.6)  # first entry on top
        ax.grid(axis="y", visible=False)
        ax.axvline(0.0, color="0.3", lw=0.8)
        ax.set_xlabel(ylabel)
        if title:
            ax.set_title(title)
        shown_hl = [names[i] in highlight_set for i in shown]
        if highlight_set and any(shown_hl):
            handles = [Patch(color=hl_color, label=highlight_label)]
            if not all(shown_hl):
                handles.append(Patch(color=base, label=OTHER))
            ax.legend(handles=handles, fontsize="small", loc="best")
    return ax
