"""Rankings: experiments as horizontal bars (best on top, the rest summarised), and score
distributions as vertical densities (violins with a box plot and the points).

Both draw values computed elsewhere (scores and their intervals, e.g. from
:mod:`alfred.utils.stats`); nothing here loads results or resamples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from alfred.utils.plots.style import (MAX_BARS, MAX_PANELS, colors_for, new_axes, palette, short_value, shorten, styled,
                                      tilt_if_crowded)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

__all__ = ["SortMode", "draw_densities", "draw_ranked_bars"]

SortMode = Literal["descending", "ascending", "none"]


# ----------------------------------------------------------------------------- ranked bars


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
    """Rank entries (e.g. experiments) with horizontal bars, best on top, others summarised.

    Only the first ``top_k`` entries after sorting get a bar; the remaining ones are summed
    up by one grey bar at the bottom: its length is their median, its whisker spans their
    [min, max], and its tick label reads ``"N others: median X [min, max]"``. A 1,000-entry
    chart therefore stays as small and legible as a ``top_k``-entry one. (The 0.2 grouped
    vertical bars are :func:`alfred.utils.plots.bar_chart`.)

    Args:
        ax: axes to draw on; ``None`` creates a figure sized to the number of bars
            (8 inches wide, about 0.3 inch per bar).
        scores: score per entry: a mapping ``name -> score`` or a sequence, shape (n,)
            (then ``labels`` names them). NaN scores sort last and draw no bar.
        lowers: lower bound of each score's interval (e.g. a bootstrap CI), shape (n,) or a
            mapping by name; drawn as asymmetric error bars. Give ``uppers`` too.
        uppers: upper bound of each score's interval, like ``lowers``.
        labels: entry names, shape (n,); required when ``scores`` is a sequence, must be
            ``None`` when it is a mapping. Long names are shortened in the middle.
        ylabel: label of the score axis (the horizontal axis, since bars are horizontal).
        title: axes title.
        top_k: number of entries shown individually, 1 <= top_k <= ``MAX_BARS`` (100).
        sort: ``"descending"`` (highest score first: higher is better), ``"ascending"``
            (lowest first: e.g. losses) or ``"none"`` (given order; the first ``top_k`` shown).
        highlight: names drawn in a distinct colour with a legend entry, e.g. experiments
            whose interval overlaps the best one's.
        highlight_label: legend text for the highlighted entries.
        max_label_len: names longer than this many characters are shortened.

    Returns:
        The axes drawn on.

    Raises:
        ValueError: on an unknown ``sort``, a bad ``top_k``, or mismatched lengths.
    """
    if sort not in get_args(SortMode):
        raise ValueError(f"sort must be one of {get_args(SortMode)}, got {sort!r}")
    if isinstance(top_k, bool) or int(top_k) != top_k or not 1 <= top_k <= MAX_BARS:
        raise ValueError(f"top_k must be an integer in [1, {MAX_BARS}], got {top_k!r}: "
                         "more bars are illegible, the rest is summarised")
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
    lo = _aligned(lowers, names, "lowers")
    up = _aligned(uppers, names, "uppers")
    highlight_set = {str(h) for h in (highlight or set())}

    n = values.size
    if sort == "descending":
        order = np.argsort(np.where(np.isnan(values), np.inf, -values), kind="stable")
    elif sort == "ascending":
        order = np.argsort(np.where(np.isnan(values), np.inf, values), kind="stable")
    else:
        order = np.arange(n)
    shown, rest = order[:top_k], order[top_k:]
    n_rows = len(shown) + (1 if len(rest) else 0)

    from matplotlib.patches import Patch

    base, hl_color = palette()[0], palette()[1]
    with styled():
        if ax is None:
            ax = new_axes((8.0, min(1.2 + 0.3 * n_rows, 18.0)))
        y = np.arange(len(shown), dtype=float)
        bar_colors = [hl_color if names[i] in highlight_set else base for i in shown]
        xerr = None
        if lo is not None and up is not None:
            xerr = np.vstack([np.nan_to_num(np.clip(values - lo, 0, None)),
                              np.nan_to_num(np.clip(up - values, 0, None))])[:, shown]
        ax.barh(y, values[shown], xerr=xerr, color=bar_colors, height=0.7,
                error_kw={"ecolor": "0.2", "capsize": 2.5, "elinewidth": 1.0})
        for yi, i in zip(y, shown):
            if np.isnan(values[i]):
                ax.text(0.0, yi, " no score", va="center", ha="left", color="0.4", fontsize="small")
        tick_labels = [shorten(names[i], max_label_len) for i in shown]
        ticks = list(y)
        if len(rest):
            rest_vals = values[rest]
            finite = rest_vals[np.isfinite(rest_vals)]
            y_rest = len(shown) + 0.4
            n_hl = sum(names[i] in highlight_set for i in rest)
            extra = f", {n_hl} {highlight_label}" if n_hl else ""
            if finite.size:
                med, vmin, vmax = np.median(finite), finite.min(), finite.max()
                ax.barh([y_rest], [med], xerr=[[med - vmin], [vmax - med]], color="0.8",
                        edgecolor="0.45", hatch="//", height=0.7,
                        error_kw={"ecolor": "0.45", "capsize": 2.5, "elinewidth": 1.0, "ls": "--"})
                summary = (f"{len(rest)} others{extra}:\n"
                           f"median {short_value(med)} [{short_value(vmin)}, {short_value(vmax)}]")
            else:
                summary = f"{len(rest)} others{extra}:\nno finite score"
            ticks.append(y_rest)
            tick_labels.append(summary)
        ax.set_yticks(ticks, tick_labels)
        if len(rest):
            ax.get_yticklabels()[-1].set_color("0.3")
            ax.get_yticklabels()[-1].set_fontstyle("italic")
        ax.set_ylim(n_rows - 0.4 + (0.4 if len(rest) else 0.0), -0.6)  # first entry on top
        ax.grid(axis="y", visible=False)
        ax.axvline(0.0, color="0.3", lw=0.8)
        ax.set_xlabel(ylabel)
        if title:
            ax.set_title(title)
        if highlight_set:
            handles = [Patch(color=hl_color, label=highlight_label), Patch(color=base, label="other")]
            ax.legend(handles=handles, fontsize="small", loc="best")
    return ax


# ----------------------------------------------------------------------------- densities


def _kde(data: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Evaluate a Gaussian kernel density estimate (Scott's bandwidth) of ``data`` on ``grid``."""
    std = data.std(ddof=1)
    iqr = np.subtract(*np.percentile(data, [75, 25]))
    spread = min(std, iqr / 1.34) if iqr > 0 else std
    bw = 1.06 * spread * data.size ** (-1 / 5)
    if data.size > 5000:  # density shape is already well resolved: subsample for speed
        data = np.random.default_rng(0).choice(data, 5000, replace=False)
    z = (grid[:, None] - data[None, :]) / bw
    return np.exp(-0.5 * z**2).sum(axis=1) / (data.size * bw * math.sqrt(2 * math.pi))


def draw_densities(
    ax: Axes | None = None,
    *,
    distributions: Mapping[str, ArrayLike],
    ylabel: str = "",
    title: str = "",
    box: bool = True,
    max_points: int = 50,
    colors: Any = None,
    width: float = 0.8,
) -> Axes:
    """Draw one vertical density (violin) per named distribution, with box plot and points.

    Each violin is a Gaussian KDE of the distribution's finite values, all scaled to the same
    maximal ``width``; a box plot (median, quartiles, 1.5 IQR whiskers) is overlaid and, when
    a distribution holds at most ``max_points`` values, its individual points are drawn
    jittered. Distributions with fewer than 2 distinct values get no violin. (The 0.2 form,
    points or box plots of a list of arrays, is :func:`alfred.utils.plots.plot_vertical_densities`.)

    Args:
        ax: axes to draw on; ``None`` creates a figure ~0.9 inch wide per distribution.
        distributions: ``name -> values`` (shape (n_i,), e.g. final scores over seeds); NaNs
            are dropped. At most ``MAX_PANELS`` (100) distributions.
        ylabel: y-axis label (the values' unit).
        title: axes title.
        box: overlay a box plot.
        max_points: draw the individual points of distributions with at most this many values.
        colors: one colour for all violins or one per distribution; ``None`` cycles the palette.
        width: maximal violin width in x units (distributions sit at x = 0, 1, 2, ...).

    Returns:
        The axes drawn on.

    Raises:
        ValueError: if ``distributions`` is empty or holds more than ``MAX_PANELS`` entries.
    """
    from matplotlib.colors import to_rgba

    names = [str(k) for k in distributions]
    if not names:
        raise ValueError("distributions is empty: nothing to plot")
    if len(names) > MAX_PANELS:
        raise ValueError(f"{len(names)} distributions are illegible in one axes (at most "
                         f"{MAX_PANELS}): select the top-k first")
    data = []
    for v in distributions.values():
        arr = np.asarray(v, dtype=float).reshape(-1)
        data.append(arr[np.isfinite(arr)])
    n = len(data)
    color_list = colors_for(colors, n, "distributions")
    rng = np.random.default_rng(0)
    with styled():
        if ax is None:
            ax = new_axes((max(4.0, 1.5 + 0.9 * n), 4.5 if n <= 12 else 5.5))
        for i, d in enumerate(data):
            if d.size >= 2 and np.ptp(d) > 0:
                pad = 0.1 * np.ptp(d)
                grid = np.linspace(d.min() - pad, d.max() + pad, 200)
                dens = _kde(d, grid)
                half = 0.5 * width * dens / dens.max()
                ax.fill_betweenx(grid, i - half, i + half, color=to_rgba(color_list[i], 0.35),
                                 edgecolor=color_list[i], linewidth=1.0, zorder=1)
            if d.size and (d.size <= max_points or np.ptp(d) == 0):
                jitter = rng.uniform(-0.08, 0.08, d.size) * width
                ax.scatter(i + jitter, d, s=10, color=color_list[i], edgecolor="0.15",
                           linewidth=0.4, zorder=4, alpha=0.9)
        present = [i for i, d in enumerate(data) if d.size]
        if box and present:
            ax.boxplot([data[i] for i in present], positions=present, widths=0.12 * width / 0.8,
                       patch_artist=True, manage_ticks=False, showfliers=False, zorder=3,
                       boxprops={"facecolor": "white", "edgecolor": "0.15", "linewidth": 1.0},
                       medianprops={"color": "0.1", "linewidth": 1.6},
                       whiskerprops={"color": "0.15", "linewidth": 1.0},
                       capprops={"color": "0.15", "linewidth": 1.0})
        short = [shorten(name, 28) for name in names]
        chars_per_axis = 12.0 * n  # ~0.9 inch, ~12 characters per distribution
        tilt = max(len(t) for t in short) + 2 > chars_per_axis / n
        sep = " " if tilt else "\n"
        tick_text = [f"{t}{sep}(n={d.size})" for t, d in zip(short, data)]
        ax.set_xticks(np.arange(n), tick_text)
        ax.set_xlim(-0.6, n - 0.4)
        ax.grid(axis="x", visible=False)
        tilt_if_crowded(ax, tick_text, chars_per_axis=chars_per_axis)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
    return ax
