"""The 0.2 call forms: ``create_fig``, ``plot_curves``, ``bar_chart``, ``plot_vertical_densities``,
``plot_sampled_hyperparams`` and ``smooth_out``, for projects written against alfred 0.2.

Each keeps its 0.2 positional order, keyword names, meaning and return value (the drawing
functions return ``None``), as listed in the repository's ``COMPAT.md``; new options may
only be added as keyword-only arguments. alfred's own figures use the richer functions
(``new_figure``, ``draw_curves``, ``draw_ranked_bars``, ``draw_densities``,
``draw_sampled_hyperparams``, ``moving_average``); ``docs/migrating.md`` says what changed
and why. Unlike 0.2, importing these changes no global matplotlib style: the figures
created here get alfred's style (white grid, colour-blind palette) through
:func:`~alfred.utils.plots.style.styled`, and axes created elsewhere keep their own grid
and colour cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from alfred.utils.plots.style import colors_for, styled

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ["bar_chart", "create_fig", "plot_curves", "plot_sampled_hyperparams", "plot_vertical_densities",
           "smooth_out"]


def _per_item(values: Sequence[Any] | None, n: int, name: str) -> list[Any]:
    """Return ``values`` as a list of ``n`` entries (``None`` gives ``n`` Nones)."""
    if values is None:
        return [None] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"got {len(values)} {name} for {n} items")
    return values


def _set_fonts(ax: Axes, *, title: str, xlabel: str, ylabel: str, title_font_size: float,
               axis_font_size: float, tick_font_size: float) -> None:
    """Set the title, axis labels and tick labels of ``ax`` with their 0.2 font sizes (points)."""
    ax.set_title(title, fontsize=title_font_size)
    ax.set_xlabel(xlabel, fontsize=axis_font_size)
    ax.set_ylabel(ylabel, fontsize=axis_font_size)
    ax.tick_params(axis="both", which="major", labelsize=tick_font_size)


def create_fig(axes_shape: tuple[int, int], figsize: tuple[float, float] | None = None) -> tuple[Figure, Any]:
    """Create a figure of ``n_rows x n_cols`` panels, exactly as ``plt.subplots(n_rows, n_cols)``.

    Args:
        axes_shape: ``(n_rows, n_cols)``, each >= 1.
        figsize: (width, height) in inches; ``None`` gives 8 in per column x 5 in per row.

    Returns:
        ``(fig, axes)`` as ``plt.subplots`` returns them: one ``Axes`` for (1, 1), a 1-D
        array of Axes for one row or one column, else a 2-D array of shape (n_rows, n_cols).
        No layout engine is set (call ``fig.tight_layout()`` as with ``plt.subplots``).
        alfred's own figures use :func:`~alfred.utils.plots.style.new_figure` instead.

    Raises:
        ValueError: if ``axes_shape`` is not two integers >= 1.
    """
    import matplotlib.pyplot as plt

    shape = tuple(axes_shape)
    if len(shape) != 2 or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1
                                  for k in shape):
        raise ValueError(f"axes_shape must be (n_rows, n_cols) with integers >= 1, got {axes_shape!r}")
    n_rows, n_cols = int(shape[0]), int(shape[1])
    if figsize is None:
        figsize = (8.0 * n_cols, 5.0 * n_rows)
    with styled():
        return plt.subplots(n_rows, n_cols, figsize=figsize)


def smooth_out(data_serie: Sequence[float | None], smooth_factor: float = 0.2) -> list[float | None]:
    """Smooth a series with an exponential moving average (EMA).

    ``s[0] = y[0]`` and ``s[t] = smooth_factor * s[t-1] + (1 - smooth_factor) * y[t]``:
    the larger ``smooth_factor``, the smoother. ``None`` (and NaN) values are kept as they
    are at their place and skipped by the average, which goes on from the last value.
    alfred's own curves use :func:`~alfred.utils.plots.curves.moving_average` instead.

    Args:
        data_serie: values, shape (n,); a list (possibly holding ``None``) or a 1-D array.
        smooth_factor: weight of the past, 0 < smooth_factor < 1.

    Returns:
        The smoothed values as a list of length n (floats, ``None`` where the input was).

    Raises:
        ValueError: if ``smooth_factor`` is not strictly between 0 and 1.
    """
    if not 0.0 < smooth_factor < 1.0:
        raise ValueError(f"smooth_factor must be strictly between 0 and 1, got {smooth_factor!r}")
    out: list[float | None] = []
    mean = None
    for value in data_serie:
        if value is None or value != value:  # None or NaN: a gap, not a value
            out.append(value)
            continue
        mean = float(value) if mean is None else smooth_factor * mean + (1.0 - smooth_factor) * float(value)
        out.append(mean)
    return out


def plot_curves(
    ax: Axes, ys: Sequence[ArrayLike], xs: Sequence[ArrayLike] | None = None, colors: Sequence[Any] | None = None,
    markers: Sequence[str | None] | None = None, markersize: float = 15, markevery: int | None = None,
    labels: Sequence[str | None] | None = None, xlabel: str = "", ylabel: str = "", axis_font_size: float = 22,
    tick_font_size: float = 18, title: str = "", title_font_size: float = 24,
    fill_up: Sequence[ArrayLike] | None = None, fill_down: Sequence[ArrayLike] | None = None,
    alpha_fill: float = 0.1, smooth: bool = False, add_legend: bool = True, legend_underneath: bool = False,
    legend_font_size: float = 20, legend_pos: tuple[float, float] = (-0.5, -0.2),
) -> None:
    """Draw curves on ``ax``, each with an optional shaded band, in the 0.2 call form.

    Args:
        ax: the axes to draw on.
        ys: one 1-D array (n_i,) per curve; ``None`` entries in them leave gaps.
        xs: one 1-D array (n_i,) per curve; ``None`` gives ``0..n_i-1``.
        colors: one colour per curve; ``None`` (or a ``None`` entry) takes the axes' colour cycle.
        markers: one matplotlib marker per curve (e.g. ``"o"``), ``None`` for none.
        markersize: marker size in points.
        markevery: draw a marker every this many points; ``None`` gives ``n_i // 10`` (>= 1).
        labels: legend label per curve; ``None`` entries stay out of the legend.
        xlabel, ylabel: axis labels, in ``axis_font_size`` points.
        axis_font_size, tick_font_size, title_font_size: font sizes in points.
        title: axes title.
        fill_up, fill_down: per curve, the band's distance above / below it (arrays (n_i,)
            or numbers), e.g. the ``err_up``/``err_down`` of ``get_95_confidence_interval``;
            give both or neither. The band is shaded between ``y - fill_down`` and ``y + fill_up``.
        alpha_fill: opacity of the bands, in [0, 1].
        smooth: draw each curve faint and its :func:`smooth_out` (EMA) on top, labelled;
            bands stay around the unsmoothed curve.
        add_legend: draw a legend when a curve is labelled.
        legend_underneath: place the legend outside the axes, its upper-left corner at
            ``legend_pos``; otherwise inside, where it hides least.
        legend_font_size: legend font size in points.
        legend_pos: (x, y) of the legend's upper-left corner in axes coordinates (0..1 spans the axes).

    Raises:
        ValueError: on mismatched lengths or only one of ``fill_up``/``fill_down``.
    """
    curves = [np.asarray(y, dtype=float).reshape(-1) for y in ys]
    n = len(curves)
    if xs is None:
        x_list = [np.arange(len(y)) for y in curves]
    else:
        x_list = [np.asarray(x, dtype=float).reshape(-1) for x in xs]
    if len(x_list) != n:
        raise ValueError(f"got {len(x_list)} xs for {n} ys")
    for i, (x, y) in enumerate(zip(x_list, curves)):
        if len(x) != len(y):
            raise ValueError(f"curve {i}: {len(x)} x values but {len(y)} y values")
    if (fill_up is None) != (fill_down is None):
        raise ValueError("give both fill_up and fill_down, or neither")
    ups, downs = _per_item(fill_up, n, "fill_up"), _per_item(fill_down, n, "fill_down")
    color_list = _per_item(colors, n, "colors")
    marker_list = _per_item(markers, n, "markers")
    label_list = _per_item(labels, n, "labels")
    with styled():
        for i, (x, y) in enumerate(zip(x_list, curves)):
            every = markevery if markevery is not None else max(1, len(y) // 10)
            color = color_list[i]
            shown = y
            if smooth:
                (raw,) = ax.plot(x, y, color=color, alpha=min(1.0, 3 * alpha_fill))
                color = raw.get_color()
                shown = np.array(smooth_out(y), dtype=float)
            label = None if label_list[i] is None else str(label_list[i])
            (line,) = ax.plot(x, shown, color=color, marker=marker_list[i], markevery=every,
                              markersize=markersize, label=label)
            if ups[i] is not None:
                up, down = np.asarray(ups[i], dtype=float), np.asarray(downs[i], dtype=float)
                ax.fill_between(x, y - down, y + up, color=line.get_color(), alpha=alpha_fill, linewidth=0)
        _set_fonts(ax, title=title, xlabel=xlabel, ylabel=ylabel, title_font_size=title_font_size,
                   axis_font_size=axis_font_size, tick_font_size=tick_font_size)
        if add_legend and any(label is not None for label in label_list):
            if legend_underneath:
                ax.legend(loc="upper left", bbox_to_anchor=legend_pos, fontsize=legend_font_size)
            else:
                ax.legend(loc="best", fontsize=legend_font_size)


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
