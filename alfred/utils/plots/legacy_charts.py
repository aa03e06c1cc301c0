"""The 0.2 call forms of ``bar_chart``, ``plot_vertical_densities`` and ``plot_sampled_hyperparams``
(``create_fig``, ``plot_curves`` and ``smooth_out``: ``legacy.py``, whose notes hold here too)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from alfred.utils.plots.legacy import _draw_hlines, _per_item, _set_fonts
from alfred.utils.plots.style import colors_for, styled

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

__all__ = ["bar_chart", "plot_sampled_hyperparams", "plot_vertical_densities"]


def _by_group(table: Mapping[Any, Mapping[Any, float]] | None, series: list[Any], groups: list[Any],
              name: str) -> np.ndarray | None:
    """Return ``table[series][group]`` as an array (n_series, n_groups), NaN where missing."""
    if table is None:
        return None
    out = np.full((len(series), len(groups)), np.nan)
    for i, s in enumerate(series):
        row = table.get(s)
        if row is None:
            raise ValueError(f"{name} has no entry for series {s!r}")
        for j, g in enumerate(groups):
            out[i, j] = row.get(g, np.nan)
    return out


def bar_chart(
    ax: Axes, scores: Mapping[Any, Mapping[Any, float]], err_up: Mapping[Any, Mapping[Any, float]] | None = None,
    err_down: Mapping[Any, Mapping[Any, float]] | None = None, capsize: float = 10.,
    colors: Mapping[Any, Any] | Sequence[Any] | None = None, group_names: Sequence[str] | None = None,
    xlabel: str = "", ylabel: str = "", title: str = "", cmap: str = "viridis",
) -> None:
    """Draw grouped vertical bars: one group per x position, one bar per series in each group.

    Args:
        ax: the axes to draw on.
        scores: ``{series: {group: value}}``, e.g. ``{"ppo": {"walker": 310., "hopper": 120.}}``;
            groups are ordered as they first appear; a group a series lacks gets no bar.
        err_up, err_down: the same shape as ``scores``: the error bar's distance above / below
            each bar (e.g. ``get_95_confidence_interval``'s ``err_up``/``err_down``); a side
            not given is drawn as 0.
        capsize: width of the error bars' caps in points.
        colors: ``{series: colour}``, one colour per series, or one colour for all; ``None``
            samples ``cmap`` evenly.
        group_names: tick label per group, in group order; ``None`` uses the group keys.
        xlabel, ylabel: axis labels.
        title: axes title.
        cmap: matplotlib colormap name used when ``colors`` is ``None``.

    Raises:
        ValueError: if ``scores`` is empty, or ``err_*``, ``colors`` or ``group_names`` do not
            match it.
    """
    import matplotlib

    series = list(scores)
    if not series:
        raise ValueError("scores is empty: nothing to plot")
    groups = list(dict.fromkeys(g for s in series for g in scores[s]))
    heights = _by_group(scores, series, groups, "scores")
    ups, downs = _by_group(err_up, series, groups, "err_up"), _by_group(err_down, series, groups, "err_down")
    if colors is None:
        cm = matplotlib.colormaps[cmap]
        color_list = [cm(i / len(series)) for i in range(len(series))]
    elif isinstance(colors, Mapping):
        missing = [s for s in series if s not in colors]
        if missing:
            raise ValueError(f"colors has no entry for series {missing}")
        color_list = [colors[s] for s in series]
    else:
        color_list = colors_for(colors, len(series), "series")
    if group_names is not None and len(list(group_names)) != len(groups):
        raise ValueError(f"got {len(list(group_names))} group_names for {len(groups)} groups")
    width = 0.8 / len(series)
    centres = np.arange(len(groups), dtype=float)
    with styled():
        for i, s in enumerate(series):
            yerr = None
            if ups is not None or downs is not None:
                yerr = np.vstack([np.zeros(len(groups)) if downs is None else downs[i],
                                  np.zeros(len(groups)) if ups is None else ups[i]])
            ax.bar(centres + (i - (len(series) - 1) / 2) * width, heights[i], width, yerr=yerr, capsize=capsize,
                   color=color_list[i], label=str(s), error_kw={"ecolor": "0.2", "elinewidth": 1.0})
        ax.set_xticks(centres, [str(g) for g in (groups if group_names is None else group_names)])
        ax.grid(axis="x", visible=False)  # a vertical grid line would cut through the middle bar
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title, fontweight="bold")
        ax.legend(loc="best")


def plot_vertical_densities(
    ax: Axes, ys: Sequence[ArrayLike], colors: Sequence[Any] | None = None, labels: Sequence[str] | None = None,
    xlabel: str = "", ylabel: str = "", axis_font_size: float = 22, tick_font_size: float = 18, title: str = "",
    title_font_size: float = 24, make_boxplot: bool = False, whis: tuple[float, float] | float = (0, 99),
    hlines: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Draw one vertical strip of points (or one box plot) per group of values, side by side.

    Args:
        ax: the axes to draw on.
        ys: one 1-D array (n_i,) per group (e.g. the final scores of each algorithm's
            seeds); group ``i`` sits at x = i + 1. NaNs are left out.
        colors: one colour per group; ``None`` cycles the colour-blind palette.
        labels: tick label per group (written at 45 degrees); ``None`` numbers them 1..n.
        xlabel, ylabel: axis labels, in ``axis_font_size`` points.
        axis_font_size, tick_font_size, title_font_size: font sizes in points.
        title: axes title.
        make_boxplot: draw box plots (median, quartiles, whiskers, outliers as points)
            instead of every point.
        whis: the whiskers' reach: a pair of percentiles (``(0, 99)``: from the minimum to
            the 99th percentile) or a multiple of the inter-quartile range, as in
            ``Axes.boxplot``.
        hlines: horizontal lines across the groups, one dict of ``Axes.hlines`` keywords each
            (e.g. ``{"y": 200, "colors": "k", "label": "expert"}``).

    Raises:
        ValueError: if ``ys`` is empty or ``colors``/``labels`` do not hold one entry per group.
    """
    data = [np.asarray(y, dtype=float).reshape(-1) for y in ys]
    data = [d[np.isfinite(d)] for d in data]
    n = len(data)
    if not n:
        raise ValueError("ys is empty: nothing to plot")
    color_list = colors_for(colors, n, "groups")
    label_list = _per_item(labels, n, "labels")
    positions = np.arange(1, n + 1)
    with styled():
        if make_boxplot:
            parts = ax.boxplot(data, positions=positions, widths=0.5, whis=whis, patch_artist=True,
                               manage_ticks=False, flierprops={"marker": "o"})
            for box, flier, median, color in zip(parts["boxes"], parts["fliers"], parts["medians"], color_list):
                box.set(facecolor=color)
                flier.set(markerfacecolor=color)
                median.set(color="black", linewidth=2)
        else:
            for i, d in enumerate(data):
                ax.plot(np.full(d.size, i + 1), d, linestyle="", marker="o", alpha=0.5, color=color_list[i],
                        label=None if label_list[i] is None else str(label_list[i]))
        _draw_hlines(ax, hlines, (0.5, n + 0.5))
        ax.set_xlim(0.5, n + 0.5)
        if labels is None:
            ax.set_xticks(positions, [str(p) for p in positions])
        else:
            ax.set_xticks(positions, [str(t) for t in label_list], rotation=45, ha="right")
        _set_fonts(ax, title=title, xlabel=xlabel, ylabel=ylabel, title_font_size=title_font_size,
                   axis_font_size=axis_font_size, tick_font_size=tick_font_size)


def plot_sampled_hyperparams(ax: Axes | Sequence[Axes] | np.ndarray, param_samples: Mapping[str, Sequence[Any]],
                             log_params: Sequence[str] = ()) -> None:
    """Draw each hyperparameter's sampled values as a strip of points, one axes each.

    Args:
        ax: one axes per hyperparameter, in the order of ``param_samples`` (e.g. the axes of
            ``create_fig((n_params, 1))``); a single ``Axes`` when there is one hyperparameter.
        param_samples: ``name -> sampled values`` (numbers, or strings drawn as categories).
        log_params: names drawn on a log x-axis (e.g. learning rates).

    Raises:
        ValueError: if there are fewer axes than hyperparameters.
    """
    import matplotlib
    from matplotlib.axes import Axes
    from matplotlib.ticker import MaxNLocator

    ax_list = [ax] if isinstance(ax, Axes) else list(np.asarray(ax, dtype=object).ravel())
    if len(ax_list) < len(param_samples):
        raise ValueError(f"got {len(ax_list)} axes for {len(param_samples)} hyperparameters")
    cm = matplotlib.colormaps["viridis"]
    log_names = set(log_params)
    with styled():
        for i, (name, samples) in enumerate(param_samples.items()):
            a = ax_list[i]
            values: Any = list(samples)
            try:
                values = np.asarray(values, dtype=float)
            except (TypeError, ValueError):  # strings or mixed: categories along x
                values = [str(v) for v in values]
            a.plot(values, np.zeros(len(values)), linestyle="", marker="o", alpha=0.2,
                   color=cm(i / len(param_samples)), label=str(name))
            if name in log_names:
                a.set_xscale("log")
            elif isinstance(values, np.ndarray) and np.all(values[np.isfinite(values)] % 1 == 0):
                a.xaxis.set_major_locator(MaxNLocator(integer=True))
            a.set_yticks([])
            a.legend(loc="upper right")
