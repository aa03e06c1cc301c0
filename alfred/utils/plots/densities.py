"""Score distributions as vertical densities: violins cut at the data, a box plot and the points.

The violins are drawn from the values given (e.g. every experiment's score of each search);
nothing here loads results or resamples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from alfred.utils.plots.style import MAX_PANELS, colors_for, new_axes, styled, tilt_if_crowded, wrap_words

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

__all__ = ["draw_densities"]

_KDE_MAX_POINTS = 5000  # a density is already well resolved by this many points: subsample beyond


def _kde(data: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Evaluate a Gaussian kernel density estimate (Silverman's bandwidth) of ``data`` on ``grid``."""
    std = data.std(ddof=1)
    iqr = np.subtract(*np.percentile(data, [75, 25]))
    spread = min(std, iqr / 1.34) if iqr > 0 else std
    bw = 1.06 * spread * data.size ** (-1 / 5)
    if data.size > _KDE_MAX_POINTS:
        data = np.random.default_rng(0).choice(data, _KDE_MAX_POINTS, replace=False)
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

    Each violin is a Gaussian KDE of the distribution's finite values evaluated from its
    minimum to its maximum only (cut at the data, as seaborn's ``cut=0``): no density is
    drawn where no value lies. All violins are scaled to the same maximal ``width``; a box
    plot (median, quartiles, 1.5 IQR whiskers) is overlaid and, when a distribution holds at
    most ``max_points`` values, its individual points are drawn jittered. Distributions with
    fewer than 2 distinct values get no violin. (The 0.2 form, points or box plots of a list
    of arrays, is :func:`alfred.utils.plots.plot_vertical_densities`.)

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
                grid = np.linspace(d.min(), d.max(), 200)  # cut at the data: no density beyond it
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
        short = [wrap_words(name, 28, 2) for name in names]
        chars_per_axis = 12.0 * n  # ~0.9 inch, ~12 characters per distribution
        tilt = max(len(t) for t in short) + 2 > chars_per_axis / n
        sep = " " if tilt else "\n"
        tick_text = [f"{t}{sep}(n={d.size})" for t, d in zip(short, data)]
        ax.set_xticks(np.arange(n), tick_text)
        ax.set_xlim(-0.6, n - 0.4)
        ax.grid(axis="x", visible=False)
        if tilt:
            tilt_if_crowded(ax, tick_text, chars_per_axis=chars_per_axis)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
    return ax
