"""Figures for hyperparameter searches: learning curves, rankings, sampled values, sensitivity.

This is the only alfred module that plots; it imports matplotlib and seaborn at the top, so
import it explicitly (``from alfred.utils import plots``); ``alfred.utils`` does not import it.
Importing it changes no global matplotlib state: the seaborn "whitegrid" style and the
colour-blind-safe "colorblind" palette are applied inside each function through
``plt.rc_context``. Figures made here are pyplot figures; close them with :func:`save_fig`
(or ``plt.close(fig)``) so that many calls do not accumulate open figures.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, get_args

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import is_color_like, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from numpy.typing import ArrayLike

__all__ = [
    "MAX_BARS",
    "MAX_PANELS",
    "bar_chart",
    "create_fig",
    "plot_curves",
    "plot_sampled_hyperparams",
    "plot_sampled_hyperparams_figures",
    "plot_sensitivity",
    "plot_vertical_densities",
    "save_fig",
    "smooth_out",
]

MAX_PANELS = 100
"""Most panels (or violins) one figure may hold and stay legible."""

MAX_BARS = 100
"""Most bars one bar chart may show individually (``top_k``); the rest are summarised."""

SortMode = Literal["descending", "ascending", "none"]

_GREY = "0.6"
_DISCRETE_MAX_UNIQUE = 10  # numeric hyperparameters with at most this many values get count bars


# ----------------------------------------------------------------------------- style helpers


@functools.cache
def _style_rc() -> dict[str, Any]:
    """Return the rcParams of the local style: seaborn whitegrid, small fonts, colour-blind cycle."""
    rc: dict[str, Any] = dict(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook", font_scale=0.85))
    rc["axes.prop_cycle"] = cycler(color=sns.color_palette("colorblind"))
    rc["legend.frameon"] = True
    rc["legend.framealpha"] = 0.85
    return rc


@contextmanager
def _styled() -> Iterator[None]:
    """Apply the local style for the duration of a ``with`` block (global state restored after)."""
    with plt.rc_context(_style_rc()):
        yield


def _palette(n: int | None = None) -> list[tuple[float, float, float]]:
    """Return the colour-blind-safe palette, cycled to ``n`` colours (10 distinct ones)."""
    base = list(sns.color_palette("colorblind"))
    if n is None:
        return base
    return [base[i % len(base)] for i in range(n)]


def _check_mode(value: str, allowed: Any, name: str) -> None:
    """Raise ValueError unless ``value`` is one of the ``Literal`` type ``allowed``'s values."""
    options = get_args(allowed)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")


def _shorten(text: str, max_len: int) -> str:
    """Cut ``text`` to ``max_len`` characters with an ellipsis in the middle (keeps both ends)."""
    if max_len < 5 or len(text) <= max_len:
        return text
    head = (max_len - 1) // 2
    tail = max_len - 1 - head
    return f"{text[:head]}…{text[-tail:]}"


def _fmt(value: float) -> str:
    """Format a number compactly (3 significant digits)."""
    return f"{value:.3g}"


def _new_ax(figsize: tuple[float, float]) -> Axes:
    """Create a one-panel styled figure of ``figsize`` inches (capped to 24 x 18) and return its ax."""
    _, axes = create_fig(1, 1, panel_size=figsize)
    return axes[0, 0]


# ----------------------------------------------------------------------------- figure helpers


def create_fig(
    n_rows: int,
    n_cols: int,
    *,
    panel_size: tuple[float, float] = (4.0, 3.0),
    max_size: tuple[float, float] = (24.0, 18.0),
    sharex: bool = False,
    sharey: bool = False,
) -> tuple[Figure, np.ndarray]:
    """Create a styled figure with a grid of panels, its size capped so it stays reasonable.

    Args:
        n_rows: number of panel rows, >= 1.
        n_cols: number of panel columns, >= 1.
        panel_size: (width, height) of one panel in inches, before capping.
        max_size: largest (width, height) of the whole figure in inches; each dimension of
            ``n_cols * width, n_rows * height`` is clipped to it (panels shrink instead).
        sharex: share the x-axis between panels.
        sharey: share the y-axis between panels.

    Returns:
        ``(fig, axes)`` with ``axes`` always a 2-D numpy array of shape (n_rows, n_cols).

    Raises:
        ValueError: if ``n_rows`` or ``n_cols`` < 1, or if more than ``MAX_PANELS`` (100)
            panels are requested: panels would be illegible, select the top-k items first.
    """
    if n_rows < 1 or n_cols < 1:
        raise ValueError(f"n_rows and n_cols must be >= 1, got {n_rows} x {n_cols}")
    n_panels = n_rows * n_cols
    if n_panels > MAX_PANELS:
        raise ValueError(
            f"{n_panels} panels requested ({n_rows} x {n_cols}); at most {MAX_PANELS} stay "
            "legible in one figure: select the top-k items or split them over several figures"
        )
    width = min(n_cols * panel_size[0], max_size[0])
    height = min(n_rows * panel_size[1], max_size[1])
    with _styled():
        fig, axes = plt.subplots(
            n_rows,
            n_cols,
            figsize=(width, height),
            squeeze=False,
            sharex=sharex,
            sharey=sharey,
            layout="constrained",
        )
    return fig, axes


def save_fig(
    fig: Figure,
    path: str | Path,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 150,
) -> list[Path]:
    """Save ``fig`` once per format next to each other, then close it.

    Args:
        fig: the figure to save; it is closed afterwards, even if saving fails.
        path: file path without suffix, e.g. ``storage/search/variations0``; each format's
            suffix is appended (dots in the name are kept: ``lr=0.1`` -> ``lr=0.1.png``).
            Missing parent folders are created.
        formats: file formats, e.g. ``("png", "pdf")``; each must be one matplotlib supports.
        dpi: resolution of raster formats in dots per inch.

    Returns:
        The written paths, one per format, in the order of ``formats``.

    Raises:
        ValueError: if a format is not supported or ``formats`` is empty.
    """
    try:
        supported = fig.canvas.get_supported_filetypes()
        formats = [fmt.lower().lstrip(".") for fmt in formats]
        if not formats:
            raise ValueError("formats must name at least one file format")
        unknown = [fmt for fmt in formats if fmt not in supported]
        if unknown:
            raise ValueError(f"unsupported format(s) {unknown}; choose among {sorted(supported)}")
        base = Path(path)
        base.parent.mkdir(parents=True, exist_ok=True)
        written = []
        for fmt in formats:
            out = base.parent / f"{base.name}.{fmt}"
            fig.savefig(out, format=fmt, dpi=dpi, bbox_inches="tight")
            written.append(out)
        return written
    finally:
        plt.close(fig)


def smooth_out(y: ArrayLike, window: int) -> np.ndarray:
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


# ----------------------------------------------------------------------------- curves


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


def plot_curves(
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
    interval ``[lowers[i], uppers[i]]`` is shaded around curve ``i``.

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
        smooth: moving-average window (points) applied to ys and bands, see :func:`smooth_out`.
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
    styles = ["-"] * n
    if colors is None:
        color_list = _palette(n)
        styles = [("-", "--", ":", "-.")[(i // 10) % 4] for i in range(n)]  # palette wraps at 10
    elif is_color_like(colors):
        color_list = [colors] * n
    else:
        color_list = list(colors)
        if len(color_list) != n:
            raise ValueError(f"got {len(color_list)} colors for {n} curves")
    if not 0.0 <= band_alpha <= 1.0:
        raise ValueError(f"band_alpha must be in [0, 1], got {band_alpha}")
    lw = linewidth if linewidth is not None else (2.0 if bands is not None else 1.0)

    with _styled():
        if ax is None:
            ax = _new_ax((8.0, 4.5))
        handles: dict[str, Any] = {}
        for i, (x, y) in enumerate(zip(x_list, curves)):
            label = None if labels is None else labels[i]
            (line,) = ax.plot(x, smooth_out(y, smooth), color=color_list[i], lw=lw, ls=styles[i],
                              alpha=0.9 if bands is None else 1.0)
            if bands is not None:
                ax.fill_between(x, smooth_out(bands[i][0], smooth), smooth_out(bands[i][1], smooth),
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


# ----------------------------------------------------------------------------- bar chart


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


def bar_chart(
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
    chart therefore stays as small and legible as a ``top_k``-entry one.

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
    _check_mode(sort, SortMode, "sort")
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

    base, hl_color = _palette()[0], _palette()[1]
    with _styled():
        if ax is None:
            ax = _new_ax((8.0, min(1.2 + 0.3 * n_rows, 18.0)))
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
        tick_labels = [_shorten(names[i], max_label_len) for i in shown]
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
                summary = f"{len(rest)} others{extra}:\nmedian {_fmt(med)} [{_fmt(vmin)}, {_fmt(vmax)}]"
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


# ----------------------------------------------------------------------------- hyperparameters


def _is_number(value: Any) -> bool:
    """Tell whether ``value`` is a real number (bools are categories, not numbers)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _is_missing(value: Any) -> bool:
    """Tell whether ``value`` marks an unset hyperparameter (None or NaN)."""
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _classify(values: Sequence[Any]) -> tuple[Literal["numeric", "categorical"], int]:
    """Return whether the set values are all numbers, and how many values are unset."""
    n_missing = sum(_is_missing(v) for v in values)
    present = [v for v in values if not _is_missing(v)]
    kind: Literal["numeric", "categorical"] = (
        "numeric" if present and all(_is_number(v) for v in present) else "categorical"
    )
    return kind, n_missing


def _spans_decades(values: np.ndarray, decades: float = 2.0) -> bool:
    """Tell whether ``values`` call for a log axis: positive, spanning > ``decades`` decades.

    The values must also sit mostly in the lower decades (median below a tenth of the
    maximum), so that e.g. uniform samples in [0, 1] whose minimum happens to be tiny keep a
    linear axis, while log-uniform samples (learning rates) get a log one.
    """
    values = values[np.isfinite(values)]
    if not values.size or values.min() <= 0:
        return False
    vmax = values.max()
    return bool(vmax / values.min() > 10.0**decades and np.median(values) < vmax / 10.0)


def _category_label(value: Any) -> str:
    """Format one categorical value for a tick label."""
    if _is_missing(value):
        return "unset"
    if _is_number(value):
        return f"{value:g}"
    return _shorten(str(value), 16)


def _tilt_if_crowded(ax: Axes, labels: Sequence[str], chars_per_axis: float) -> None:
    """Rotate x tick labels when the longest one is wider than its share of the axis.

    ``chars_per_axis`` is about how many characters fit side by side along the axis.
    """
    if labels and max(len(s) for s in labels) + 2 > chars_per_axis / len(labels):
        ax.tick_params(axis="x", labelrotation=35)
        for text in ax.get_xticklabels():
            text.set_horizontalalignment("right")
            text.set_rotation_mode("anchor")


def _draw_hyperparam_panel(ax: Axes, name: str, values: Sequence[Any], bins: int, color: Any) -> None:
    """Draw one sampled hyperparameter: histogram when numeric and varied, counts otherwise."""
    kind, n_missing = _classify(values)
    present = [v for v in values if not _is_missing(v)]
    numbers = np.array(present, dtype=float) if kind == "numeric" else None
    if numbers is not None and len(np.unique(numbers)) > _DISCRETE_MAX_UNIQUE:
        log = _spans_decades(numbers)
        if log:
            edges = np.geomspace(numbers.min(), numbers.max(), bins + 1)
        else:
            edges = np.histogram_bin_edges(numbers, bins=bins)
        ax.hist(numbers, bins=edges, color=color, edgecolor="white", linewidth=0.5)
        if log:  # after plotting: an empty axes warns when made log
            ax.set_xscale("log")
    else:
        counts = Counter(present) if kind == "numeric" else Counter(
            "unset" if _is_missing(v) else v for v in values)
        if kind == "numeric":
            keys = sorted(counts)
        else:
            keys = sorted(counts, key=lambda k: (str(type(k)), str(k)))
        if len(keys) > 20:  # keep the 19 most frequent, group the rest
            top = [k for k, _ in counts.most_common(19)]
            keys = [k for k in keys if k in top]
            other = sum(c for k, c in counts.items() if k not in top)
            heights = [counts[k] for k in keys] + [other]
            tick_text = [_category_label(k) for k in keys] + [f"{len(counts) - 19} others"]
        else:
            heights = [counts[k] for k in keys]
            tick_text = [_category_label(k) for k in keys]
        pos = np.arange(len(heights))
        ax.bar(pos, heights, color=color, width=0.7)
        ax.set_xticks(pos, tick_text)
        ax.grid(axis="x", visible=False)
        _tilt_if_crowded(ax, tick_text, chars_per_axis=36)
    title = _shorten(name, 40)
    if kind == "numeric" and n_missing:
        title += f" ({n_missing} unset)"
    ax.set_title(title)
    ax.set_ylabel("count")


def plot_sampled_hyperparams(
    axes: np.ndarray | Sequence[Axes] | None = None,
    *,
    samples: Mapping[str, Sequence[Any]],
    bins: int = 20,
    title: str = "",
) -> Figure:
    """Draw the distribution of each sampled hyperparameter, one panel each.

    Numeric hyperparameters with more than 10 distinct values get a histogram, on a log
    x-axis (log-spaced bins) when the values are positive and span more than 2 decades;
    other hyperparameters (strings, bools, few distinct numbers) get one count bar per
    value. ``None``/NaN values count as unset. Used for ``variations<k>.png`` of a random
    search; with more than about 12 hyperparameters prefer
    :func:`plot_sampled_hyperparams_figures`, which splits them over several figures.

    Args:
        axes: panels to draw on, any array/sequence shape holding at least ``len(samples)``
            axes (spare ones are hidden); ``None`` creates a grid of up to 4 columns.
        samples: ``name -> sampled values``, one value per sampled configuration.
        bins: number of histogram bins for numeric hyperparameters.
        title: figure title (suptitle).

    Returns:
        The figure holding the panels (not the axes), ready for :func:`save_fig`.

    Raises:
        ValueError: if ``samples`` is empty, ``axes`` are too few, or more than
            ``MAX_PANELS`` panels would be needed.
    """
    if not samples:
        raise ValueError("samples is empty: nothing to plot")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    n = len(samples)
    with _styled():
        if axes is None:
            n_cols = min(4, n)
            fig, grid = create_fig(math.ceil(n / n_cols), n_cols, panel_size=(3.6, 2.8))
            ax_list = list(grid.ravel())
        else:
            ax_list = list(np.asarray(axes, dtype=object).ravel())
            if len(ax_list) < n:
                raise ValueError(f"got {len(ax_list)} axes for {n} hyperparameters")
            fig = ax_list[0].get_figure()
        colors = _palette(n)
        for i, (name, values) in enumerate(samples.items()):
            _draw_hyperparam_panel(ax_list[i], str(name), list(values), bins, colors[i])
        for ax in ax_list[n:]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title)
    return fig


def plot_sampled_hyperparams_figures(
    samples: Mapping[str, Sequence[Any]],
    per_fig: int = 12,
    *,
    bins: int = 20,
    title: str = "Sampled hyperparameters",
) -> list[Figure]:
    """Split many sampled hyperparameters over several figures of at most ``per_fig`` panels.

    Args:
        samples: ``name -> sampled values``, see :func:`plot_sampled_hyperparams`.
        per_fig: most panels per figure, 1 <= per_fig <= ``MAX_PANELS``.
        bins: number of histogram bins for numeric hyperparameters.
        title: title of each figure; ``" (i/k)"`` is appended when there are several.

    Returns:
        The figures, in the order of ``samples``' keys (e.g. save figure ``k`` as
        ``variations<k>``).

    Raises:
        ValueError: if ``samples`` is empty or ``per_fig`` is out of range.
    """
    if not 1 <= per_fig <= MAX_PANELS:
        raise ValueError(f"per_fig must be in [1, {MAX_PANELS}], got {per_fig}")
    if not samples:
        raise ValueError("samples is empty: nothing to plot")
    items = list(samples.items())
    chunks = [dict(items[i:i + per_fig]) for i in range(0, len(items), per_fig)]
    figs = []
    for k, chunk in enumerate(chunks):
        suffix = f" ({k + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        figs.append(plot_sampled_hyperparams(samples=chunk, bins=bins, title=f"{title}{suffix}" if title else ""))
    return figs


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


def plot_vertical_densities(
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
    jittered. Distributions with fewer than 2 distinct values get no violin.

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
    if colors is None:
        color_list = _palette(n)
    elif is_color_like(colors):
        color_list = [colors] * n
    else:
        color_list = list(colors)
        if len(color_list) != n:
            raise ValueError(f"got {len(color_list)} colors for {n} distributions")
    rng = np.random.default_rng(0)
    with _styled():
        if ax is None:
            ax = _new_ax((max(4.0, 1.5 + 0.9 * n), 4.5 if n <= 12 else 5.5))
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
        short = [_shorten(name, 28) for name in names]
        chars_per_axis = 12.0 * n  # ~0.9 inch, ~12 characters per distribution
        tilt = max(len(t) for t in short) + 2 > chars_per_axis / n
        sep = " " if tilt else "\n"
        tick_text = [f"{t}{sep}(n={d.size})" for t, d in zip(short, data)]
        ax.set_xticks(np.arange(n), tick_text)
        ax.set_xlim(-0.6, n - 0.4)
        ax.grid(axis="x", visible=False)
        _tilt_if_crowded(ax, tick_text, chars_per_axis=chars_per_axis)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
    return ax


# ----------------------------------------------------------------------------- sensitivity


def plot_sensitivity(
    scores: ArrayLike,
    hyperparams: Mapping[str, Sequence[Any]],
    *,
    ylabel: str = "score",
    lowers: ArrayLike | None = None,
    uppers: ArrayLike | None = None,
    max_panels: int = 12,
    title: str = "",
) -> Figure:
    """Draw each experiment's final score against each varied hyperparameter, one panel each.

    Numeric hyperparameters give a scatter (log x-axis when positive and spanning more than
    2 decades); categorical ones (strings, bools, mixed) give a box plot per category with
    the points overlaid. Hyperparameters with a single value are skipped (not varied);
    experiments where a hyperparameter is unset (None/NaN) or the score is NaN are left out
    of that panel. Panels share the score axis.

    Args:
        scores: final score per experiment, shape (n_experiments,).
        hyperparams: ``name -> value per experiment``, each of length n_experiments.
        ylabel: score-axis label.
        lowers: lower bound of each score's interval, shape (n_experiments,); drawn as
            error bars. Give ``uppers`` too.
        uppers: upper bound of each score's interval, shape (n_experiments,).
        max_panels: most varied hyperparameters allowed, 1 <= max_panels <= ``MAX_PANELS``.
        title: figure title (suptitle).

    Returns:
        The figure (one panel per varied hyperparameter, or one panel saying none varies).

    Raises:
        ValueError: on mismatched lengths, only one of lowers/uppers, or more varied
            hyperparameters than ``max_panels`` (pass a subset, or split over figures).
    """
    y = np.asarray(scores, dtype=float).reshape(-1)
    n = y.size
    if (lowers is None) != (uppers is None):
        raise ValueError("give both lowers and uppers, or neither")
    lo = None if lowers is None else np.asarray(lowers, dtype=float).reshape(-1)
    up = None if uppers is None else np.asarray(uppers, dtype=float).reshape(-1)
    if lo is not None and up is not None and (lo.size != n or up.size != n):
        raise ValueError(f"lowers/uppers must have n_experiments = {n} values")
    if not 1 <= max_panels <= MAX_PANELS:
        raise ValueError(f"max_panels must be in [1, {MAX_PANELS}], got {max_panels}")
    for name, values in hyperparams.items():
        if len(values) != n:
            raise ValueError(f"hyperparameter {name!r} has {len(values)} values for {n} scores")
    varied = {
        str(name): list(values)
        for name, values in hyperparams.items()
        if len({_category_label(v) if not _is_number(v) else float(v) for v in values}) > 1
    }
    if len(varied) > max_panels:
        raise ValueError(f"{len(varied)} hyperparameters vary, more than max_panels={max_panels}: "
                         "pass a subset or split them over several figures")
    yerr_all = None
    if lo is not None and up is not None:
        yerr_all = np.vstack([np.nan_to_num(np.clip(y - lo, 0, None)), np.nan_to_num(np.clip(up - y, 0, None))])
    rng = np.random.default_rng(0)
    point_color, box_color = _palette()[0], _palette()[7]
    with _styled():
        if not varied:
            fig, grid = create_fig(1, 1)
            ax = grid[0, 0]
            ax.text(0.5, 0.5, "no hyperparameter varies", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            if title:
                fig.suptitle(title)
            return fig
        n_cols = min(3, len(varied))
        fig, grid = create_fig(math.ceil(len(varied) / n_cols), n_cols, panel_size=(4.0, 3.2), sharey=True)
        ax_list = list(grid.ravel())
        for ax, (name, values) in zip(ax_list, varied.items()):
            kind, n_missing = _classify(values)
            keep = np.array([not _is_missing(v) for v in values]) & np.isfinite(y)
            idx = np.flatnonzero(keep)
            yerr = None if yerr_all is None else yerr_all[:, idx]
            if kind == "numeric":
                x = np.array([values[i] for i in idx], dtype=float)
                if yerr is not None:
                    ax.errorbar(x, y[idx], yerr=yerr, fmt="none", ecolor="0.55", elinewidth=0.8, zorder=2)
                ax.scatter(x, y[idx], s=18, color=point_color, edgecolor="white", linewidth=0.4,
                           alpha=0.85, zorder=3)
                if _spans_decades(x):  # after plotting: an empty axes warns when made log
                    ax.set_xscale("log")
            else:
                labels = [_category_label(values[i]) for i in idx]
                cats = sorted(set(labels))
                pos_of = {c: j for j, c in enumerate(cats)}
                groups = [y[idx][[lab == c for lab in labels]] for c in cats]
                ax.boxplot(groups, positions=np.arange(len(cats)), widths=0.5, manage_ticks=False,
                           showfliers=False, patch_artist=True, zorder=2,
                           boxprops={"facecolor": to_rgba(box_color, 0.25), "edgecolor": "0.3"},
                           medianprops={"color": "0.1", "linewidth": 1.5},
                           whiskerprops={"color": "0.3"}, capprops={"color": "0.3"})
                xj = np.array([pos_of[lab] for lab in labels], dtype=float) + rng.uniform(-0.2, 0.2, len(labels))
                if yerr is not None:
                    ax.errorbar(xj, y[idx], yerr=yerr, fmt="none", ecolor="0.55", elinewidth=0.8, zorder=3)
                ax.scatter(xj, y[idx], s=14, color=point_color, edgecolor="white", linewidth=0.4,
                           alpha=0.85, zorder=4)
                ax.set_xticks(np.arange(len(cats)), cats)
                ax.set_xlim(-0.6, len(cats) - 0.4)
                ax.grid(axis="x", visible=False)
                _tilt_if_crowded(ax, cats, chars_per_axis=40)
            label = _shorten(name, 40)
            if n_missing:
                label += f" ({n_missing} unset)"
            ax.set_xlabel(label)
        for ax in grid[:, 0]:
            ax.set_ylabel(ylabel)
        for ax in ax_list[len(varied):]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title)
    return fig
