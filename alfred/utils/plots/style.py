"""The look every alfred figure shares: style, palette, figure creation, saving, label helpers.

Importing this module is cheap (matplotlib is imported by the functions that
use them), so scripts may take :data:`MAX_PANELS` or :func:`short_value` from here without
paying for the plotting stack. Nothing here changes global matplotlib state: the style
(seaborn's "whitegrid" look, spelled out so that seaborn is never imported) and the
colour-blind-safe palette apply inside :func:`styled` blocks only (``plt.rc_context``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alfred.utils.misc import short_value

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MAX_BARS", "MAX_PANELS", "new_figure", "save_fig", "short_value"]

MAX_PANELS = 100
"""Most panels (or violins) one figure may hold and stay legible."""

MAX_BARS = 100
"""Most bars one bar chart may show individually (``top_k``); the rest are summarised."""


# ----------------------------------------------------------------------------- labels


def shorten(text: str, max_len: int) -> str:
    """Cut ``text`` to ``max_len`` characters with an ellipsis in the middle (keeps both ends)."""
    if max_len < 5 or len(text) <= max_len:
        return text
    head = (max_len - 1) // 2
    tail = max_len - 1 - head
    return f"{text[:head]}…{text[-tail:]}"


def tilt_if_crowded(ax: Axes, labels: Sequence[str], chars_per_axis: float) -> None:
    """Rotate x tick labels when the longest one is wider than its share of the axis.

    ``chars_per_axis`` is about how many characters fit side by side along the axis.
    """
    if labels and max(len(s) for s in labels) + 2 > chars_per_axis / len(labels):
        ax.tick_params(axis="x", labelrotation=35)
        for text in ax.get_xticklabels():
            text.set_horizontalalignment("right")
            text.set_rotation_mode("anchor")


# ----------------------------------------------------------------------------- style and colours


COLORBLIND = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc",
              "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9")
"""The colour-blind-safe palette (seaborn's "colorblind", Okabe-Ito based), in cycle order."""

# seaborn's "whitegrid" style with its "notebook" context at font_scale 0.85, spelled out:
# the same look without importing seaborn (and the scipy and pandas it imports, ~1 s).
_RC: dict[str, Any] = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.facecolor": "white", "axes.grid": True,
    "axes.labelcolor": ".15", "axes.labelsize": 10.2, "axes.linewidth": 1.25, "axes.titlesize": 10.2,
    "axes.spines.bottom": True, "axes.spines.left": True, "axes.spines.right": True, "axes.spines.top": True,
    "figure.facecolor": "white", "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "font.size": 10.2, "grid.color": ".8", "grid.linestyle": "-", "grid.linewidth": 1,
    "legend.fontsize": 9.35, "legend.title_fontsize": 10.2, "legend.frameon": True, "legend.framealpha": 0.85,
    "lines.linewidth": 1.5, "lines.markersize": 6, "lines.solid_capstyle": "round",
    "patch.edgecolor": "w", "patch.force_edgecolor": True, "patch.linewidth": 1, "text.color": ".15",
    "xtick.bottom": False, "xtick.top": False, "xtick.color": ".15", "xtick.direction": "out",
    "xtick.labelsize": 9.35, "xtick.major.size": 6, "xtick.major.width": 1.25, "xtick.minor.size": 4,
    "xtick.minor.width": 1, "ytick.left": False, "ytick.right": False, "ytick.color": ".15",
    "ytick.direction": "out", "ytick.labelsize": 9.35, "ytick.major.size": 6, "ytick.major.width": 1.25,
    "ytick.minor.size": 4, "ytick.minor.width": 1,
}


@functools.cache
def _style_rc() -> dict[str, Any]:
    """Return the rcParams of the local style: white grid, small fonts, colour-blind cycle."""
    from cycler import cycler

    return {**_RC, "axes.prop_cycle": cycler(color=list(palette()))}


@contextmanager
def styled() -> Iterator[None]:
    """Apply the local style for the duration of a ``with`` block (global state restored after).

    Axes created inside the block keep its grid, colours and colour cycle afterwards.
    """
    import matplotlib.pyplot as plt

    with plt.rc_context(_style_rc()):
        yield


def palette(n: int | None = None) -> list[tuple[float, float, float]]:
    """Return the colour-blind-safe palette as RGB tuples, cycled to ``n`` colours (10 distinct ones)."""
    from matplotlib.colors import to_rgb

    base = [to_rgb(c) for c in COLORBLIND]
    if n is None:
        return base
    return [base[i % len(base)] for i in range(n)]


def colors_for(colors: Any, n: int, what: str) -> list[Any]:
    """Resolve a ``colors`` argument into one colour per item.

    Args:
        colors: ``None`` (the palette, cycled), one matplotlib colour for all items, or a
            sequence of ``n`` colours.
        n: number of items drawn.
        what: the items' name for the error message, e.g. ``"curves"``.

    Raises:
        ValueError: if a sequence of colours does not hold ``n`` of them.
    """
    from matplotlib.colors import is_color_like

    if colors is None:
        return palette(n)
    if is_color_like(colors):
        return [colors] * n
    color_list = list(colors)
    if len(color_list) != n:
        raise ValueError(f"got {len(color_list)} colors for {n} {what}")
    return color_list


# ----------------------------------------------------------------------------- figures


def new_figure(
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
        ``(fig, axes)`` with ``axes`` always a 2-D numpy array of shape (n_rows, n_cols);
        the figure uses matplotlib's constrained layout.

    Raises:
        ValueError: if ``n_rows`` or ``n_cols`` < 1, or if more than ``MAX_PANELS`` (100)
            panels are requested: panels would be illegible, select the top-k items first.
    """
    import matplotlib.pyplot as plt

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
    with styled():
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


def new_axes(figsize: tuple[float, float]) -> Axes:
    """Create a one-panel styled figure of ``figsize`` inches (capped to 24 x 18) and return its axes."""
    _, axes = new_figure(1, 1, panel_size=figsize)
    return axes[0, 0]


def save_fig(
    fig: Figure,
    path: str | Path,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 150,
    *,
    tight: bool = True,
) -> list[Path]:
    """Save ``fig`` once per format next to each other, then close it.

    Args:
        fig: the figure to save; it is closed afterwards, even if saving fails.
        path: file path without suffix, e.g. ``storage/search/variations0``; each format's
            suffix is appended (dots in the name are kept: ``lr=0.1`` -> ``lr=0.1.png``).
            Missing parent folders are created.
        formats: file formats, e.g. ``("png", "pdf")``; each must be one matplotlib supports.
        dpi: resolution of raster formats in dots per inch.
        tight: crop the saved file to what is drawn (``bbox_inches="tight"``), which costs
            one more rendering per file; figures whose layout engine already keeps every
            text inside (``new_figure``'s constrained layout) can pass False.

    Returns:
        The written paths, one per format, in the order of ``formats``.

    Raises:
        ValueError: if a format is not supported or ``formats`` is empty.
    """
    import matplotlib.pyplot as plt

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
            fig.savefig(out, format=fmt, dpi=dpi, bbox_inches="tight" if tight else None)
            written.append(out)
        return written
    finally:
        plt.close(fig)
