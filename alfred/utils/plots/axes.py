"""Axes and headings shared by alfred's figures: log axes for log-spaced values, one tick per
grid value, and the title block (``alg · task · desc``, small print, subtitle).

Cheap to import, like :mod:`alfred.utils.plots.style`: numpy and matplotlib are imported
by the functions that use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alfred.utils.plots.style import short_value, shorten

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MAX_VALUE_TICKS", "head_figure", "heading_lines", "is_log_spaced", "value_axis"]


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


def value_axis(ax: Axes, axis: str, values: Any) -> bool:
    """Scale one axis for the given values: log when :func:`is_log_spaced`, ticks at the values when few.

    With at most ``MAX_VALUE_TICKS`` distinct values (a grid), each gets a tick labelled with
    :func:`short_value` (``0.03``, ``0.3``, ``1`` rather than ``10^-1``). Call it after
    drawing: an empty axes warns when made log.

    Args:
        ax: the axes.
        axis: ``"x"`` or ``"y"``.
        values: the numbers drawn along that axis.

    Returns:
        Whether the axis was made logarithmic.
    """
    import numpy as np
    from matplotlib.ticker import FixedLocator, NullLocator

    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    log = is_log_spaced(v)
    target = ax.xaxis if axis == "x" else ax.yaxis
    if log:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    distinct = np.unique(v)
    if 0 < distinct.size <= MAX_VALUE_TICKS:
        target.set_major_locator(FixedLocator(distinct))
        target.set_major_formatter(lambda x, _pos: short_value(float(x)) if x != int(x) else str(int(x)))
        target.set_minor_locator(NullLocator())
    return log


_HEAD_LINES = (("heading", 11.5, "0.1"), ("small", 7.5, "0.45"), ("subtitle", 9.0, "0.2"))  # points, grey


def head_figure(fig: Figure, heading: str, *, small: str = "", subtitle: str = "") -> None:
    """Title a figure: ``heading`` (e.g. ``mlp · moons · grid_demo``), ``small`` print under it
    (e.g. the storage folder's name), then ``subtitle`` lines (what is drawn, how sure).

    The lines sit above every panel, centred; the heading is shortened in the middle to the
    figure's width, the other lines wrapped (at most 3 lines each). The figure grows taller
    by the room they take, so its panels keep their size below them. Call it once the figure has its final size
    (after drawing, before :func:`save_fig`); it replaces any earlier heading.

    Args:
        fig: a figure of :func:`new_figure` (constrained layout) or any other figure.
        heading: the main title, one line.
        small: small grey print under the heading; ``""`` for none.
        subtitle: one or more lines (``\\n``-separated) under it; ``""`` for none.
    """
    from matplotlib.transforms import ScaledTranslation

    for text in [t for t in fig.texts if t.get_gid() == "alfred-head"]:
        text.remove()
    width_in, height_in = fig.get_size_inches()
    height_in -= getattr(fig, "_alfred_head_in", 0.0)  # a second call replaces the first one's room
    texts = {"heading": [heading], "small": small.split("\n"), "subtitle": subtitle.split("\n")}
    y_in = 0.06
    for key, size, color in _HEAD_LINES:
        max_chars = int(width_in * 72.0 / (0.55 * size))
        lines = [shorten(heading, max_chars)] if key == "heading" else _wrapped(texts[key], max_chars)
        for line in lines:
            if not line:
                continue
            offset = ScaledTranslation(0.0, -y_in, fig.dpi_scale_trans)
            fig.text(0.5, 1.0, line, ha="center", va="top", fontsize=size, color=color,
                     transform=fig.transFigure + offset, gid="alfred-head",
                     fontweight="bold" if key == "heading" else "normal")
            y_in += 1.4 * size / 72.0
    room = y_in + 0.04
    fig.set_size_inches(width_in, height_in + room)  # the panels keep their size under the heading
    fig._alfred_head_in = room  # noqa: SLF001  (read back by a later call)
    top = 1.0 - room / (height_in + room)
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set") and "rect" in engine.get():
        engine.set(rect=(0.0, 0.0, 1.0, top))
    else:
        fig.subplots_adjust(top=top)


def _wrapped(lines: list[str], max_chars: int, max_lines: int = 3) -> list[str]:
    """Each line wrapped at spaces to ``max_chars``, at most ``max_lines`` per line given (the
    last one shortened in the middle)."""
    import textwrap

    out = []
    for line in lines:
        parts = textwrap.wrap(line, max_chars, break_long_words=False, break_on_hyphens=False) or [""]
        if len(parts) > max_lines:
            parts = parts[: max_lines - 1] + [shorten(" ".join(parts[max_lines - 1:]), max_chars)]
        out += [shorten(part, max_chars) for part in parts]
    return out


def heading_lines(fig: Figure) -> list[str]:
    """The lines :func:`head_figure` wrote on ``fig`` (heading, small print, subtitle lines), in order."""
    return [t.get_text() for t in fig.texts if t.get_gid() == "alfred-head"]
