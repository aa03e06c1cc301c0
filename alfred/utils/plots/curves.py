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

__all__ = ["draw_curves", "moving_average"]


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
            repeated labels, e.g. all seeds of one experiment, get one legend entry).
        colors: one matplotlib colour for all curves, or one colour per curve; ``None``
            cycles the 10 colour-blind-safe colours, then dashed, dotted... lines.
        xlabel: x-axis label.
        ylabel: y-axis label.
        title: axes title.
        smooth: moving-average window (points) applied to ys and bands, see :func:`moving_average`.
        legend: draw a legend when at least one curve is labelled.
        linewidth: line width in points; ``None`` gives 1.0 for plain curves, 2.0 with bands.
        band_alpha: opacity of the shaded bands, in [0, 1].

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
    if colors is None:
        styles = [("-", "--", ":", "-.")[(i // 10) % 4] for i in range(n)]  # palette wraps at 10
    if not 0.0 <= band_alpha <= 1.0:
        raise ValueError(f"band_alpha must be in [0, 1], got {band_alpha}")
    lw = linewidth if linewidth is not None else (2.0 if bands is not None else 1.0)

    with styled():
        if ax is None:
            ax = new_axes((8.0, 4.5))
        handles: dict[str, Any] = {}
        for i, (x, y) in enumerate(zip(x_list, curves)):
            label = None if labels is None else labels[i]
            (line,) = ax.plot(x, moving_average(y, smooth), color=color_list[i], lw=lw, ls=styles[i],
                              alpha=0.9 if bands is None else 1.0)
            if bands is not None:
                ax.fill_between(x, moving_average(bands[i][0], smooth), moving_average(bands[i][1], smooth),
                                color=color_list[i], alpha=band_alpha, linewidth=0)
            if label is not None and label not in handles:
                handles[label] = line
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        if legend and handles:
            if len(handles) > 10:  # many entries: put the legend outside, right of the axes
                ax.legend(list(handles.values()), list(handles.keys()), fontsize="small", loc="upper left",
                          bbox_to_anchor=(1.01, 1.0), ncols=math.ceil(len(handles) / 25))
            else:
                ax.legend(list(handles.values()), list(handles.keys()), fontsize="small", loc="best")
    return ax
