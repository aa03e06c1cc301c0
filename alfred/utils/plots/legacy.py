"""The 0.2 call forms: ``create_fig``, ``plot_curves`` and ``smooth_out`` here, ``bar_chart``,
``plot_vertical_densities`` and ``plot_sampled_hyperparams`` in ``legacy_charts``, for projects
written against alfred 0.2 and 0.3.

Each keeps its positional order, keyword names, meaning and return value at tag v0.2 (the
drawing functions return ``None``); new options may only be added as keyword-only arguments.
An unknown keyword is a TypeError, as for any function: nothing here catches an error.
alfred's own figures use the richer functions (``new_figure``, ``draw_curves``, ``draw_ranked_bars``,
``draw_densities``,
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

from alfred.utils.plots.style import styled

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ["create_fig", "plot_curves", "smooth_out"]  # bar_chart and the others: legacy_charts.py


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
    labels: Sequence[str | None] | None = None, xlabel: str = "", ylabel: str = "",
    xlim: tuple[float | None, float | None] = (None, None), ylim: tuple[float | None, float | None] = (None, None),
    axis_font_size: float = 22, tick_font_size: float = 18, n_x_ticks: int = 4, n_y_ticks: int = 4, title: str = "",
    title_font_size: float = 24, fill_up: Sequence[ArrayLike] | None = None,
    fill_down: Sequence[ArrayLike] | None = None, alpha_fill: float = 0.1,
    error_up: Sequence[ArrayLike] | None = None, error_down: Sequence[ArrayLike] | None = None, smooth: bool = False,
    add_legend: bool = True, legend_outside: bool = False, legend_font_size: float = 20,
    legend_pos: tuple[float, float] = (0.5, -0.2), legend_loc: str = "upper center", legend_n_columns: int = 1,
    legend_marker_first: bool = True, hlines: Sequence[Mapping[str, Any]] | None = None, *,
    legend_underneath: bool = False,
) -> None:
    """Draw curves on ``ax``, each with an optional shaded band or error bars, in the 0.2 call form.

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
        xlim, ylim: ``(low, high)`` axis limits, ``None`` for a side fitted to the data.
        axis_font_size, tick_font_size, title_font_size: font sizes in points.
        n_x_ticks, n_y_ticks: at most this many ticks on each axis.
        title: axes title.
        fill_up, fill_down: per curve, the band's distance above / below it (arrays (n_i,)
            or numbers), e.g. the ``err_up``/``err_down`` of ``get_95_confidence_interval``;
            give both or neither. The band is shaded between ``y - fill_down`` and ``y + fill_up``.
        alpha_fill: opacity of the bands, in [0, 1].
        error_up, error_down: per curve, error bars' distances above / below each point
            (used when no ``fill_up``/``fill_down`` is given); both or neither.
        smooth: draw each curve faint and its :func:`smooth_out` (EMA) on top, labelled;
            bands stay around the unsmoothed curve.
        add_legend: draw a legend when a curve is labelled.
        legend_outside: anchor the legend's ``legend_loc`` corner at ``legend_pos`` (axes
            coordinates: (0.5, -0.2) is under the axes), in ``legend_n_columns`` columns;
            otherwise inside the axes at ``legend_loc``.
        legend_font_size: legend font size in points.
        legend_loc: matplotlib legend location (``"upper center"``, ``"best"``, ...).
        legend_marker_first: legend markers left of their labels.
        hlines: horizontal lines across the axes, one dict of ``Axes.hlines`` keywords each
            (e.g. ``{"y": 200, "colors": "k", "linestyles": "--", "label": "expert"}``).
        legend_underneath: the early form of ``legend_outside`` (legend under the axes,
            its upper-left corner at ``legend_pos``).

    Raises:
        ValueError: on mismatched lengths or only one of ``fill_up``/``fill_down``.
        TypeError: on an unknown keyword, as any Python function (never swallowed).
    """
    from matplotlib.ticker import MaxNLocator

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
    for up_name, down_name, up_value, down_value in (("fill_up", "fill_down", fill_up, fill_down),
                                                     ("error_up", "error_down", error_up, error_down)):
        if (up_value is None) != (down_value is None):
            raise ValueError(f"give both {up_name} and {down_name}, or neither")
    ups, downs = _per_item(fill_up, n, "fill_up"), _per_item(fill_down, n, "fill_down")
    err_ups, err_downs = _per_item(error_up, n, "error_up"), _per_item(error_down, n, "error_down")
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
            style = dict(color=color, marker=marker_list[i], markevery=every, markersize=markersize, label=label,
                         zorder=n - i)
            if ups[i] is None and err_ups[i] is not None:
                yerr = [np.asarray(err_downs[i], dtype=float), np.asarray(err_ups[i], dtype=float)]
                ax.errorbar(x, shown, yerr=yerr, **style)
                continue
            (line,) = ax.plot(x, shown, **style)
            if ups[i] is not None:
                up, down = np.asarray(ups[i], dtype=float), np.asarray(downs[i], dtype=float)
                ax.fill_between(x, y - down, y + up, color=line.get_color(), alpha=alpha_fill, linewidth=0,
                                zorder=n - i)
        _set_fonts(ax, title=title, xlabel=xlabel, ylabel=ylabel, title_font_size=title_font_size,
                   axis_font_size=axis_font_size, tick_font_size=tick_font_size)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.xaxis.set_major_locator(MaxNLocator(n_x_ticks))
        ax.yaxis.set_major_locator(MaxNLocator(n_y_ticks))
        _draw_hlines(ax, hlines, ax.get_xlim())
        if add_legend and any(label is not None for label in label_list):
            if legend_underneath:
                ax.legend(loc="upper left", bbox_to_anchor=legend_pos, fontsize=legend_font_size)
            elif legend_outside:
                ax.legend(loc=legend_loc, bbox_to_anchor=legend_pos, ncol=legend_n_columns,
                          markerfirst=legend_marker_first, fontsize=legend_font_size, framealpha=0.25)
            else:
                ax.legend(loc=legend_loc, ncol=legend_n_columns, markerfirst=legend_marker_first,
                          fontsize=legend_font_size, framealpha=0.25)


def _draw_hlines(ax: Axes, hlines: Sequence[Mapping[str, Any]] | None, x_range: tuple[float, float]) -> None:
    """Each dict of ``hlines`` as ``ax.hlines(**dict)`` spanning ``x_range`` (the dicts are not changed)."""
    for line in hlines or ():
        if not isinstance(line, Mapping):
            raise TypeError(f"hlines holds dicts of Axes.hlines keywords (e.g. {{'y': 1.0}}), got {line!r}")
        ax.hlines(**{**line, "xmin": x_range[0], "xmax": x_range[1]})
