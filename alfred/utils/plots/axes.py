"""Axes and headings shared by alfred's figures: log axes for log-spaced values, one tick per
grid value, and the title block (``alg · task · desc``, small print, subtitle).

Cheap to import, like :mod:`alfred.utils.plots.style`: numpy and matplotlib are imported
by the functions that use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alfred.utils.plots.style import short_value, wrap_words

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MAX_VALUE_TICKS", "fit_log_ticks", "head_figure", "heading_lines", "is_log_spaced",
           "is_log_spaced_with_zero",
           "number_formatter", "value_axis"]


def is_log_spaced(values: Any) -> bool:
    """Tell whether numbers are best shown on a log axis: log-spaced positive values over a decade or more.

    The finite values must be positive with ``max / min >= 10``, and their distinct values
    must sit more evenly in log space than in linear space (sorted, scaled to [0, 1], and
    compared with even spacing): a grid 0.03 / 0.3 / 1, powers of two 16..256 or log-uniform
    samples qualify; 1..20 in steps of 1, or uniform samples in [0.01, 1], do not. Two
    distinct values a decade or more apart count as log-spaced (their ratio is what matters).

    Args:
        values: numbers, any shape; NaN and inf are ignored.
    """
    import numpy as np

    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2 or v.min() <= 0 or v.max() < 10.0 * v.min():
        return False
    distinct = np.unique(v)
    if distinct.size < 3:
        return True

    def unevenness(w: np.ndarray) -> float:
        scaled = (w - w[0]) / (w[-1] - w[0])
        return float(np.abs(scaled - np.linspace(0.0, 1.0, w.size)).mean())

    return unevenness(np.log(distinct)) < unevenness(distinct)


MAX_VALUE_TICKS = 8
"""A numeric axis with at most this many distinct values gets one tick per value."""


def is_log_spaced_with_zero(values: Any) -> bool:
    """Zero and positive values that are log-spaced once the zero is set aside (a weight decay
    grid 0 / 0.001 / 0.01): on a linear axis 0 and 0.001 would overlap, on a log axis 0 has no place."""
    import numpy as np

    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    positive = v[v > 0]
    return bool(v.size and (v == 0).any() and not (v < 0).any() and np.unique(positive).size >= 2
                and is_log_spaced(positive))


def number_formatter(x: float, _pos: object = None) -> str:
    """A tick label as it is written in a config: ``0.03``, ``1``, ``1e-05`` (never ``3×10⁻²``)."""
    return short_value(float(x)) if x != int(x) else str(int(x))


def value_axis(ax: Axes, axis: str, values: Any) -> str:
    """Scale one axis for the given values and return its scale (``linear``, ``log`` or ``symlog``).

    Log when :func:`is_log_spaced`; symlog when :func:`is_log_spaced_with_zero` (linear
    between 0 and the smallest positive value, which is where that one sits, log beyond:
    0 / 0.001 / 0.01 evenly apart). With at most ``MAX_VALUE_TICKS`` distinct values (a
    grid), each gets a tick labelled with :func:`short_value` (``0.03``, ``0.3``, ``1``);
    on a log axis with more values, the ticks are labelled the same way and the minor ones
    left unlabelled (their ``2×10⁻²`` labels overlap). Call it after drawing: an empty axes
    warns when made log.

    Args:
        ax: the axes.
        axis: ``"x"`` or ``"y"``.
        values: the numbers drawn along that axis.
    """
    import numpy as np
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    target = ax.xaxis if axis == "x" else ax.yaxis
    set_scale = ax.set_xscale if axis == "x" else ax.set_yscale
    scale = "linear"
    if is_log_spaced(v):
        scale = "log"
        set_scale("log")
    elif is_log_spaced_with_zero(v):
        scale = "symlog"
        set_scale("symlog", linthresh=float(v[v > 0].min()), linscale=0.6)
    distinct = np.unique(v)
    if 0 < distinct.size <= MAX_VALUE_TICKS:
        target.set_major_locator(FixedLocator(distinct))
        target.set_major_formatter(number_formatter)
        target.set_minor_locator(NullLocator())
    elif scale != "linear":
        target.set_major_formatter(number_formatter)
        target.set_minor_formatter(NullFormatter())
    return scale


def fit_log_ticks(ax: Axes, axis: str, low: float, high: float) -> None:
    """Ticks of a log axis from ``low`` to ``high``, as many as fit side by side at the tick
    font size: 1, 2 and 5 of every decade, else each decade, else fewer decades (their
    labels, ``0.001``, would overlap otherwise). Uses the axes' size when called."""
    import math

    from matplotlib import rcParams
    from matplotlib.ticker import LogLocator, NullFormatter

    fig = ax.figure
    box = ax.get_position()
    size_pt = (box.width * fig.get_size_inches()[0] if axis == "x" else box.height * fig.get_size_inches()[1]) * 72
    tick_pt = float(rcParams[f"{axis}tick.labelsize"]) if not isinstance(rcParams[f"{axis}tick.labelsize"], str) \
        else float(rcParams["font.size"]) * 0.9
    fit = max(2, int(size_pt / (tick_pt * 0.62 * 6.5)))  # labels such as 0.0001 or 5e-05, with a gap
    decades = max(math.log10(high / low), 1e-9) if low > 0 and high > low else 1.0
    target = ax.xaxis if axis == "x" else ax.yaxis
    if 3 * (decades + 1) <= fit:
        target.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    elif decades + 1 <= fit:
        target.set_major_locator(LogLocator(subs=(1.0,)))
    else:
        target.set_major_locator(LogLocator(subs=(1.0,), numticks=fit))
    target.set_major_formatter(number_formatter)
    target.set_minor_formatter(NullFormatter())


_HEAD_LINES = (("heading", 1.0, "0.1", 2), ("small", 0.65, "0.45", 2), ("subtitle", 0.8, "0.2", 3))
# (part, size as a share of the style's heading size, grey, most lines per given line)


def head_figure(fig: Figure, heading: str, *, small: str = "", subtitle: str = "") -> None:
    """Title a figure: ``heading`` (e.g. ``mlp · moons · grid_demo``), ``small`` print under it
    (e.g. the storage folder's name), then ``subtitle`` lines (what is drawn, how sure).

    The lines sit above every panel, centred, wrapped to the figure's width between words
    (a long identifier after its ``_``), never cut inside one: at most 2 lines for the
    heading and the small print, 3 per subtitle line (what is left is dropped at a word
    boundary, ending in an ellipsis). The figure grows taller by the room they take, so its
    panels keep their size below them. In a style without headings (the paper styles: the
    caption says it) nothing is drawn. Call it once the figure has its final size (after
    drawing, before :func:`save_fig`); it replaces any earlier heading.

    Args:
        fig: a figure of :func:`new_figure` (constrained layout) or any other figure.
        heading: the main title, one line.
        small: small grey print under the heading; ``""`` for none.
        subtitle: one or more lines (``\\n``-separated) under it; ``""`` for none.
    """
    from matplotlib.transforms import ScaledTranslation

    from alfred.utils.plots.presets import current_style

    for text in [t for t in fig.texts if t.get_gid() == "alfred-head"]:
        text.remove()
    width_in, height_in = fig.get_size_inches()
    height_in -= getattr(fig, "_alfred_head_in", 0.0)  # a second call replaces the first one's room
    style = current_style()
    texts = {"heading": [heading], "small": small.split("\n"), "subtitle": subtitle.split("\n")}
    y_in = 0.06
    for key, scale, color, max_lines in _HEAD_LINES if style.heading else ():
        size = style.heading_pt * scale
        max_chars = int(width_in * 72.0 / (0.6 * size))  # DejaVu Sans: ~0.55 em per character on average
        lines = [part for line in texts[key] for part in wrap_words(line, max_chars, max_lines).split("\n")]
        for line in lines:
            if not line:
                continue
            offset = ScaledTranslation(0.0, -y_in, fig.dpi_scale_trans)
            fig.text(0.5, 1.0, line, ha="center", va="top", fontsize=size, color=color,
                     transform=fig.transFigure + offset, gid="alfred-head",
                     fontweight="bold" if key == "heading" else "normal")
            y_in += 1.4 * size / 72.0
    room = y_in + 0.04 if y_in > 0.06 else 0.0
    fig.set_size_inches(width_in, height_in + room)  # the panels keep their size under the heading
    fig._alfred_head_in = room  # noqa: SLF001  (read back by a later call)
    top = 1.0 - room / (height_in + room)
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set") and "rect" in engine.get():
        engine.set(rect=(0.0, 0.0, 1.0, top))
    else:
        fig.subplots_adjust(top=top)


def heading_lines(fig: Figure) -> list[str]:
    """The lines :func:`head_figure` wrote on ``fig`` (heading, small print, subtitle lines), in order."""
    return [t.get_text() for t in fig.texts if t.get_gid() == "alfred-head"]
