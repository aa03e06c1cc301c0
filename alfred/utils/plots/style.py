"""The look every alfred figure shares: style, palette, figure creation, saving, label helpers.

Importing this module is cheap (matplotlib is imported by the functions that
use them), so scripts may take :data:`MAX_PANELS` or :func:`short_value` from here without
paying for the plotting stack. Nothing here changes global matplotlib state: the style
(seaborn's "whitegrid" look, spelled out so that seaborn is never imported) and the
colour-blind-safe palette apply inside :func:`styled` blocks only (``plt.rc_context``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alfred.utils.misc import short_value
from alfred.utils.plots.presets import STYLES, FigureStyle, current_style, figure_style, use_style

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MAX_BARS", "MAX_PANELS", "STYLES", "FigureStyle", "current_style", "figure_style", "new_figure",
           "fit_text", "ranked_colors", "save_fig", "short_value", "shorten_items", "use_style", "wrap_words"]

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


_BREAK_AFTER = re.compile(r"(?<=[_./-])")  # where a long identifier may be cut: after _ . / -


def _pieces(word: str, width: int) -> list[str]:
    """A word longer than ``width`` cut after its ``_ . / -`` (never inside a name's part)."""
    if len(word) <= width:
        return [word]
    out, line = [], ""
    for part in _BREAK_AFTER.split(word):
        if line and len(line) + len(part) > width:
            out.append(line)
            line = ""
        line += part
    return out + [line] if line else out


def wrap_words(text: str, width: int, max_lines: int = 2) -> str:
    """``text`` on at most ``max_lines`` lines of about ``width`` characters, cut only between
    words (or after the ``_ . / -`` of a long identifier), never inside one; its own line
    breaks are kept. What does not fit is dropped at a word boundary, marked with an ellipsis."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        start = len(lines)
        for word in (p for w in paragraph.split() for p in _pieces(w, width)):
            joined = lines[-1].endswith(("_", ".", "/", "-")) if len(lines) > start else False
            if len(lines) > start and len(lines[-1]) + (0 if joined else 1) + len(word) <= width:
                lines[-1] += word if joined else " " + word
            else:
                lines.append(word)
        if len(lines) == start:
            lines.append("")
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(",;:") + " …"
    return "\n".join(lines)


def shorten_items(text: str, max_len: int, sep: str = ", ") -> str:
    """Keep the leading ``sep``-separated items of ``text`` that fit in ``max_len`` characters,
    then `` …+k`` for the ``k`` left out: an item (``hidden_size=16``) is never cut."""
    if len(text) <= max_len:
        return text
    items = text.split(sep)
    kept = items[0]
    for i, item in enumerate(items[1:], start=1):
        rest = len(items) - i
        if len(kept) + len(sep) + len(item) + len(f" …+{rest - 1}") > max_len:
            return f"{kept}, …+{rest}" if sep == ", " else f"{kept}{sep}…+{rest}"
        kept += sep + item
    return kept


def fit_text(ax: Axes, text: str, axis: str = "x", *, max_lines: int = 3, size_pt: float | None = None) -> str:
    """``text`` wrapped between words to the length of ``ax``'s x (or y) axis, for a label that
    must not run past the figure's edge (a paper's column is 3.25 inches wide)."""
    from matplotlib import rcParams

    fig = ax.figure
    box = ax.get_position()
    length_in = box.width * fig.get_size_inches()[0] if axis == "x" else box.height * fig.get_size_inches()[1]
    size = size_pt or float(rcParams["axes.labelsize"] if not isinstance(rcParams["axes.labelsize"], str)
                            else rcParams["font.size"])
    return wrap_words(text, max(12, int(length_in * 72 / (0.6 * size))), max_lines)


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

OTHERS_GREY = "0.6"
"""The grey of what is not drawn one by one (a search's other experiments, "other" values)."""


def ranked_colors(n: int) -> tuple[list[tuple[float, float, float]], list[str]]:
    """(colour, line style) of ``n`` ranked items: the palette without its grey (kept for the
    items not ranked), cycled, solid for the first 9, dashed for the next 9, then dotted."""
    from matplotlib.colors import to_rgb

    base = [to_rgb(c) for c in COLORBLIND if c != "#949494"]
    return ([base[i % len(base)] for i in range(n)],
            [("-", "--", ":", "-.")[(i // len(base)) % 4] for i in range(n)])


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


_TRUETYPE = {"pdf.fonttype": 42, "ps.fonttype": 42}  # Type 42 (TrueType) fonts, never Type 3


@functools.cache
def _style_rc(style: FigureStyle) -> dict[str, Any]:
    """Return the rcParams of a style: white grid, its font sizes, colour-blind cycle, Type 42."""
    from cycler import cycler

    sizes = {"font.size": style.font_pt, "axes.labelsize": style.font_pt, "axes.titlesize": style.font_pt,
             "legend.fontsize": style.small_pt, "legend.title_fontsize": style.font_pt,
             "xtick.labelsize": style.small_pt, "ytick.labelsize": style.small_pt, "lines.linewidth": style.line_width}
    if style.width_in is not None:  # print: thinner frames and grid, smaller markers
        sizes.update({"axes.linewidth": 0.6, "grid.linewidth": 0.5, "lines.markersize": 4,
                      "xtick.major.width": 0.6, "ytick.major.width": 0.6, "patch.linewidth": 0.5})
    return {**_RC, **sizes, **_TRUETYPE, "axes.prop_cycle": cycler(color=list(palette()))}


@contextmanager
def styled() -> Iterator[None]:
    """Apply the current style (:func:`use_style`) for the duration of a ``with`` block (global
    state restored after). Axes created inside the block keep its grid, colours and colour
    cycle afterwards; text keeps its size.
    """
    import matplotlib.pyplot as plt

    with plt.rc_context(_style_rc(current_style())):
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
    figsize: tuple[float, float] | None = None,
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
        figsize: (width, height) of the whole figure in inches, overriding the panels' sizes
            and the style's width (e.g. to fit a paper's layout exactly).

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
    style = current_style()
    width = min(n_cols * panel_size[0], max_size[0])
    height = min(n_rows * panel_size[1], max_size[1])
    if style.width_in is not None:  # the style's width; each panel keeps its shape, within the height allowed
        panel_w = style.width_in / n_cols
        height = min(n_rows * panel_w * panel_size[1] / panel_size[0] * _PRINT_ASPECT, style.max_height_in)
        height = min(max(height, n_rows * 1.1), style.max_height_in)
        width = style.width_in
    if figsize is not None:
        width, height = float(figsize[0]), float(figsize[1])
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


_PRINT_ASPECT = 1.15  # printed panels a little taller than screen ones: small text leaves less room for data


def new_axes(figsize: tuple[float, float], *, n_rows: int | None = None) -> Axes:
    """Create a one-panel styled figure of ``figsize`` inches (capped to 24 x 18) and return its axes.

    ``n_rows``: the rows of text the panel lists (a ranking); in a print style the figure is
    then as tall as they need at its font size (its width is the style's).
    """
    style = current_style()
    if n_rows is not None and style.width_in is not None:
        height = min(style.max_height_in, 0.9 + n_rows * 2.0 * style.small_pt / 72.0)
        _, axes = new_figure(1, 1, figsize=(style.width_in, height))
    else:
        _, axes = new_figure(1, 1, panel_size=figsize)
    return axes[0, 0]


def save_fig(
    fig: Figure,
    path: str | Path,
    formats: Sequence[str] | None = ("png", "pdf"),
    dpi: int | None = None,
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
            None: the current style's (``screen``: PNG; the paper styles: PDF and PNG). PDFs
            embed TrueType (Type 42) fonts, which venues accept, never Type 3.
        dpi: resolution of raster formats in dots per inch (None: the current style's).
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
        style = current_style()
        dpi = style.dpi if dpi is None else dpi
        formats = [fmt.lower().lstrip(".") for fmt in (style.formats if formats is None else formats)]
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
            with plt.rc_context(_TRUETYPE):  # read when the file is written, not when drawn
                fig.savefig(out, format=fmt, dpi=dpi, bbox_inches="tight" if tight else None)
            written.append(out)
        return written
    finally:
        plt.close(fig)
