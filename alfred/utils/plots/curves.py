"""Learning curves: one thin line per seed, or mean curves with a shaded interval band each.

The curves are drawn from values computed elsewhere (e.g. the means and bootstrap intervals
of :mod:`alfred.utils.stats`); nothing here loads results or resamples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from alfred.utils.plots.style import colors_for, new_axes, styled

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

__all__ = ["draw_curve_spread", "draw_curves", "draw_thin_curves", "identical_groups", "legend_below",
           "moving_average", "zoom_past_transient"]


def moving_average(y: ArrayLike, window: int) -> np.ndarray:
    """Smooth a curve with a centred moving average that ignores NaNs and keeps the length.

    Each point becomes the mean of the finite values among the ``window`` points centred on
    it (``(window - 1) // 2`` before, ``window // 2`` after); near the edges only the
    available points are averaged, so the curve is not shortened. NaN (and +-inf) values are
    ignored; a point whose whole window holds none stays NaN.

    Args:
        y: values, shape (n,).
        window: number of points averaged, >= 1; ``1`` returns a float copy of ``y``.

    Returns:
        Smoothed values, shape (n,), float.

    Raises:
        ValueError: if ``window`` < 1 or ``y`` is not one-dimensional.
    """
    if isinstance(window, bool) or int(window) != window or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    window = int(window)
    values = np.array(y, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {values.shape}")
    if window == 1 or values.size == 0:
        return values
    valid = np.isfinite(values)
    if not valid.any():
        return values
    offset = values[valid].mean()
    centred = np.where(valid, values - offset, 0.0)  # centring keeps cumulative sums exact-ish
    sums = np.concatenate(([0.0], np.cumsum(centred)))
    counts = np.concatenate(([0], np.cumsum(valid)))
    n = values.size
    idx = np.arange(n)
    lo = np.clip(idx - (window - 1) // 2, 0, n)
    hi = np.clip(idx + window // 2 + 1, 0, n)
    total = sums[hi] - sums[lo]
    count = counts[hi] - counts[lo]
    out = np.full(n, np.nan)
    has = count > 0
    out[has] = total[has] / count[has] + offset
    return out


def _as_curve_list(values: Any, name: str) -> list[np.ndarray]:
    """Turn one 1-D array or a sequence of 1-D arrays into a list of float arrays."""
    if isinstance(values, np.ndarray):
        if values.ndim == 1:
            return [values.astype(float)]
        if values.ndim == 2:
            return [row.astype(float) for row in values]
        raise ValueError(f"{name} must be 1-D, 2-D or a list of 1-D arrays, got shape {values.shape}")
    curves = [np.asarray(v, dtype=float) for v in values]
    if curves and all(c.ndim == 0 for c in curves):  # a flat list of numbers: one curve
        return [np.asarray(values, dtype=float)]
    for c in curves:
        if c.ndim != 1:
            raise ValueError(f"each curve in {name} must be 1-D, got shape {c.shape}")
    return curves


def draw_curves(
    ax: Axes | None = None,
    xs: ArrayLike | Sequence[ArrayLike] | None = None,
    ys: ArrayLike | Sequence[ArrayLike] | None = None,
    *,
    lowers: Sequence[ArrayLike] | None = None,
    uppers: Sequence[ArrayLike] | None = None,
    labels: Sequence[str | None] | None = None,
    colors: Any = None,
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
    smooth: int = 1,
    legend: bool = True,
    linewidth: float | None = None,
    band_alpha: float = 0.25,
    mark_identical: bool = True,
    legend_outside: bool = False,
    linestyles: Sequence[Any] | None = None,
    n_bands: int | None = None,
) -> Axes:
    """Draw curves (e.g. one per seed), or mean curves with a shaded interval band each.

    Without ``lowers``/``uppers`` every curve is a thin line (e.g. each seed's learning
    curve). With them, ``ys`` are the means (or medians) drawn as thicker lines and the
    interval ``[lowers[i], uppers[i]]`` is shaded around curve ``i``. (The 0.2 form with
    distances above and below a curve is :func:`alfred.utils.plots.plot_curves`.)

    Args:
        ax: axes to draw on; ``None`` creates an 8 x 4.5 inch figure.
        xs: x values (e.g. steps or episodes): one array shape (n,) shared by all curves, a
            sequence of arrays shape (n_i,) (one per curve), or ``None`` for ``0..n_i-1``.
        ys: y values: a sequence of arrays shape (n_i,), a 2-D array (n_curves, n) or one
            1-D array for a single curve. Required; NaNs leave gaps (unless smoothed over).
        lowers: lower bounds of the band, same shapes as ``ys``; give ``uppers`` too.
        uppers: upper bounds of the band, same shapes as ``ys``; give ``lowers`` too.
        labels: legend label per curve (``None`` entries are left out of the legend;
            repeated labels, e.g. all seeds of one experiment, get one legend entry;
            set as the lines' labels, so ``ax.get_legend_handles_labels()`` finds them).
        colors: one matplotlib colour for all curves, or one colour per curve; ``None``
            cycles the 10 colour-blind-safe colours, then dashed, dotted... lines.
        xlabel: x-axis label.
        ylabel: y-axis label.
        title: axes title.
        smooth: moving-average window (points) applied to ys and bands, see :func:`moving_average`.
        legend: draw a legend when at least one curve is labelled.
        linewidth: line width in points; ``None`` gives 1.0 for plain curves, 2.0 with bands.
        band_alpha: opacity of the shaded bands, in [0, 1].
        mark_identical: curves identical to an earlier one (same x, y and band) would hide
            each other: draw them dashed over it, so each colour shows in turn, and note
            under the axes which are identical (e.g. "identical curves: exp3 and exp7").
        legend_outside: put the legend right of the axes (always done past 10 entries).
            The legend holds every labelled artist of the axes, including ones drawn
            before (e.g. by :func:`draw_curve_spread`).
        linestyles: one matplotlib line style per curve (e.g. from
            :func:`~alfred.utils.plots.ranked_colors`); ``None``: solid, or cycled with the palette.
        n_bands: shade the bands of the first ``n_bands`` curves only (the others are drawn
            as lines): many overlapping bands make a muddy figure. ``None``: every band.

    Returns:
        The axes drawn on.

    Raises:
        ValueError: if ``ys`` is missing, lengths disagree, or only one of lowers/uppers is given.
    """
    if ys is None:
        raise ValueError("ys is required")
    if (lowers is None) != (uppers is None):
        raise ValueError("give both lowers and uppers, or neither")
    curves = _as_curve_list(ys, "ys")
    n = len(curves)
    if xs is None:
        x_list = [np.arange(len(c), dtype=float) for c in curves]
    else:
        x_list = _as_curve_list(xs, "xs")
        if len(x_list) == 1 and n > 1:
            x_list = x_list * n
    if len(x_list) != n:
        raise ValueError(f"got {len(x_list)} x arrays for {n} curves")
    bands = None
    if lowers is not None and uppers is not None:
        lo_list, up_list = _as_curve_list(lowers, "lowers"), _as_curve_list(uppers, "uppers")
        if len(lo_list) != n or len(up_list) != n:
            raise ValueError(f"lowers/uppers must hold {n} curves like ys")
        bands = list(zip(lo_list, up_list))
    for i, (x, y) in enumerate(zip(x_list, curves)):
        if len(x) != len(y):
            raise ValueError(f"curve {i}: {len(x)} x values but {len(y)} y values")
        if bands is not None and not (len(bands[i][0]) == len(bands[i][1]) == len(y)):
            raise ValueError(f"curve {i}: band bounds must have the length of ys ({len(y)})")
    if labels is not None and len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} curves")
    color_list = colors_for(colors, n, "curves")
    styles = ["-"] * n
    if linestyles is not None:
        if len(linestyles) != n:
            raise ValueError(f"got {len(linestyles)} linestyles for {n} curves")
        styles = list(linestyles)
    elif colors is None:
        styles = [("-", "--", ":", "-.")[(i // 10) % 4] for i in range(n)]  # palette wraps at 10
    if not 0.0 <= band_alpha <= 1.0:
        raise ValueError(f"band_alpha must be in [0, 1], got {band_alpha}")
    from alfred.utils.plots.presets import current_style

    scale = current_style().line_width / 1.5  # thinner in print
    lw = linewidth if linewidth is not None else (2.0 if bands is not None else 1.0) * scale

    groups = identical_groups(x_list, curves, bands) if mark_identical else []
    dash = max(4.0, 3.0 * lw)
    for group in groups:  # later members dashed over the first, so every colour shows in turn
        for j, i in enumerate(group[1:]):
            styles[i] = (dash * j, (dash, dash * (len(group) - 1)))
    on_top = {i for g in groups for i in g[1:]}

    with styled():
        if ax is None:
            ax = new_axes((8.0, 4.5))
        seen: set[str] = set()
        for i, (x, y) in enumerate(zip(x_list, curves)):
            label = None if labels is None else labels[i]
            legend_label = label if label is not None and label not in seen else "_nolegend_"
            if label is not None:
                seen.add(label)
            ax.plot(x, moving_average(y, smooth), color=color_list[i], lw=lw, ls=styles[i],
                    alpha=0.9 if bands is None else 1.0, label=legend_label, zorder=2.1 if i in on_top else 2)
            if bands is not None and (n_bands is None or i < n_bands):
                ax.fill_between(x, moving_average(bands[i][0], smooth), moving_average(bands[i][1], smooth),
                                color=color_list[i], alpha=band_alpha, linewidth=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        if groups:
            _identical_note(ax, groups, labels)
        handles, texts = ax.get_legend_handles_labels()
        if legend and handles:
            if legend_outside or len(handles) > 10:  # many entries: the legend outside, right of the axes
                ax.legend(handles, texts, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                          ncols=math.ceil(len(handles) / 25))
                _room_for_legend(ax, texts, math.ceil(len(handles) / 25))
            else:
                ax.legend(handles, texts, fontsize="small", loc="best")
    return ax


def _room_for_legend(ax: Axes, texts: list[str], ncols: int) -> None:
    """Make the figure tall enough for a legend beside its axes (entries of several lines add up)."""
    from matplotlib import rcParams

    size = rcParams["legend.fontsize"]
    size_pt = 0.833 * (float(size) if not isinstance(size, str) else float(rcParams["font.size"]))  # "small"
    lines = sum(t.count("\n") + 1 for t in texts) / ncols
    needed_in = (lines * 1.25 * size_pt + len(texts) / ncols * 0.5 * size_pt + 16) / 72.0
    fig = ax.figure
    width, height = fig.get_size_inches()
    panel_in = ax.get_position().height * height
    if needed_in > panel_in:
        fig.set_size_inches(width, height + needed_in - panel_in)


def identical_groups(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray],
                     bands: Sequence[tuple[np.ndarray, np.ndarray]] | None = None) -> list[list[int]]:
    """Indices of curves identical to each other (same x, y and band, NaN equal to NaN), in
    groups of 2 or more, each sorted; curves found in no group are unique."""
    by_key: dict[tuple[bytes, ...], list[int]] = {}
    for i, (x, y) in enumerate(zip(xs, ys)):
        parts = [np.asarray(x, dtype=float), np.asarray(y, dtype=float)]
        if bands is not None:
            parts += [np.asarray(b, dtype=float) for b in bands[i]]
        key = tuple(p.shape.__repr__().encode() + np.where(np.isnan(p), np.nan, p).tobytes() for p in parts)
        by_key.setdefault(key, []).append(i)
    return [g for g in by_key.values() if len(g) > 1]


def _identical_note(ax: Axes, groups: list[list[int]], labels: Sequence[str | None] | None) -> None:
    """Say under the x-axis label which curves are identical (a dashed line hides nothing)."""
    import textwrap

    def name(i: int) -> str:
        label = None if labels is None else labels[i]
        return str(label) if label is not None else f"curve {i + 1}"

    width_chars = max(30, int(ax.get_window_extent().width / ax.figure.dpi * 72 / 5.5))  # ~ small font
    lines = ["identical curves (dashed over each other):"]
    for g in groups[:3]:
        names = [name(i) for i in g]
        text = " and ".join([", ".join(names[:-1]), names[-1]])
        lines += textwrap.wrap(text, width_chars, break_long_words=False) or [text]
    if len(groups) > 3:
        lines.append(f"and {len(groups) - 3} more groups")
    ax.annotate("\n".join(lines), xy=(0.0, 0.0), xycoords=("axes fraction", ax.xaxis.label), xytext=(0, -3),
                textcoords="offset points", ha="left", va="top", fontsize="small", color="0.25",
                fontstyle="italic", annotation_clip=False)


def draw_thin_curves(ax: Axes, xs: Sequence[ArrayLike], ys: Sequence[ArrayLike], *, color: Any = "0.75",
                     linewidth: float = 0.7, label: str | None = None, max_points: int = 500) -> None:
    """Draw many curves as one thin-line collection (e.g. every other experiment's mean, behind).

    One ``LineCollection`` draws in a fraction of the time of one line per curve. Each
    curve keeps at most ``max_points`` points (an even stride): a background line needs no more.

    Args:
        ax: axes to draw on.
        xs: x values per curve, each shape (n_i,).
        ys: y values per curve, each shape (n_i,); NaNs leave gaps.
        color: one matplotlib colour for all.
        linewidth: line width in points.
        label: legend text for the whole collection (one entry), or None.
        max_points: most points kept per curve.
    """
    from matplotlib.collections import LineCollection

    segments = []
    for x, y in zip(xs, ys):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        stride = max(1, math.ceil(len(x) / max_points))
        segments.append(np.column_stack([x[::stride], y[::stride]]))
    collection = LineCollection(segments, colors=color, linewidths=linewidth, zorder=1,
                                label=label if label is not None else "_nolegend_")
    ax.add_collection(collection)
    ax.autoscale_view()


def draw_curve_spread(ax: Axes, x: ArrayLike, middle: ArrayLike, lower: ArrayLike, upper: ArrayLike, *,
                      label: str | None = None, color: Any = "0.6", band_alpha: float = 0.25) -> None:
    """Summarise many curves by a middle line (e.g. their median) in a shaded range (e.g. 10%-90%).

    Drawn behind everything else, in grey by default: the curves that are not shown one by
    one (a search's other experiments) without drawing each.

    Args:
        ax: axes to draw on.
        x: x values, shape (n,).
        middle: the middle curve, shape (n,).
        lower: lower edge of the range, shape (n,).
        upper: upper edge of the range, shape (n,).
        label: one legend entry for the line and its range, or None.
        color: matplotlib colour.
        band_alpha: opacity of the range, in [0, 1].
    """
    ax.fill_between(x, lower, upper, color=color, alpha=band_alpha, linewidth=0, zorder=0.5,
                    label=label if label is not None else "_nolegend_")
    ax.plot(x, middle, color=color, lw=1.0, ls="-", zorder=0.6, label="_nolegend_")


def zoom_past_transient(ax: Axes, xs: Sequence[ArrayLike], ys: Sequence[ArrayLike], *, skip: float = 0.1,
                        factor: float = 1.5, pad: float = 0.06) -> float | None:
    """Fit the y-axis to the curves past their first ``skip`` share of x, when what comes before
    stretches the range more than ``factor`` times (a loss of 10 at step 0, then 0.1 to 0.2):
    the early values leave the axis instead of squashing the rest.

    Args:
        ax: the axes drawn on.
        xs: x values per curve, each shape (n_i,).
        ys: y values per curve (means, band bounds...), each shape (n_i,); NaN ignored.
        skip: the share of the x range left out of the fit, from its start.
        factor: zoom only when the whole range is more than ``factor`` times the late range.
        pad: margin above and below the late range, as a share of it.

    Returns:
        The x from which the y-axis is fitted, or None when it was left alone.
    """
    pairs = [(np.asarray(x, dtype=float), np.asarray(y, dtype=float)) for x, y in zip(xs, ys)]
    finite_x = np.concatenate([x[np.isfinite(x)] for x, _ in pairs]) if pairs else np.zeros(0)
    if finite_x.size < 2:
        return None
    start = float(finite_x.min() + skip * (finite_x.max() - finite_x.min()))
    late = np.concatenate([y[(x >= start) & np.isfinite(y)] for x, y in pairs])
    every = np.concatenate([y[np.isfinite(y)] for _, y in pairs])
    if late.size < 2 or every.size < 2:
        return None
    late_range, full_range = float(np.ptp(late)), float(np.ptp(every))
    if late_range <= 0 or full_range <= factor * late_range:
        return None
    ax.set_ylim(float(late.min()) - pad * late_range, float(late.max()) + pad * late_range)
    return start


def legend_below(ax: Axes, *, ncols: int | None = None) -> None:
    """Move the legend of ``ax`` under the figure's panels, in ``ncols`` columns (default: 2 when
    the figure is 5 inches wide or more), the figure made taller by the legend's height: in a
    paper's column, a legend beside the plot would leave it no room."""
    from matplotlib import rcParams

    handles, texts = ax.get_legend_handles_labels()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    if not handles:
        return
    fig = ax.figure
    width, height = fig.get_size_inches()
    ncols = ncols or (2 if width >= 5.0 else 1)
    size = rcParams["legend.fontsize"]
    size_pt = float(size) if not isinstance(size, str) else 0.85 * float(rcParams["font.size"])
    rows = [texts[i:i + ncols] for i in range(0, len(texts), ncols)]
    lines = sum(max(t.count("\n") + 1 for t in row) for row in rows)
    fig.set_size_inches(width, height + (lines * 1.3 * size_pt + 14) / 72.0)
    fig.legend(handles, texts, loc="outside lower center", ncols=ncols, frameon=False, fontsize=size_pt,
               columnspacing=1.2, handlelength=1.6)
