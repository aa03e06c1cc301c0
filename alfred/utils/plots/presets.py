"""Figure styles: ``screen`` (the default), ``paper`` (a paper's text width) and ``paper_column``
(one column of a two-column paper), each with its figure width, font sizes and file formats.

Every alfred figure is drawn in the current style: :func:`use_style` sets it for a block,
the figure functions take ``style=`` too. Cheap to import: no matplotlib here.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["STYLES", "FigureStyle", "current_style", "drawing_style", "figure_style", "output_formats", "use_style"]


@dataclass(frozen=True)
class FigureStyle:
    """How big a figure is and how big its text: on a screen, or in a paper's column.

    Attributes:
        name: ``"screen"``, ``"paper"`` or ``"paper_column"`` (or your own).
        font_pt: labels and text, in points; ticks and legends use ``small_pt``.
        small_pt: tick labels, legends, notes.
        heading_pt: the heading line (``head_figure``).
        line_width: curves' width in points.
        width_in: every figure is this wide, in inches (None: sized by its content).
        max_height_in: the tallest a figure may be, in inches.
        heading: draw ``head_figure``'s heading, small print and subtitle (a paper's caption
            says what they say: off for the paper styles).
        dpi: resolution of PNGs.
        formats: the files written by default (the summary's, the comparisons').
    """

    name: str = "screen"
    font_pt: float = 10.2
    small_pt: float = 9.35
    heading_pt: float = 11.5
    line_width: float = 1.5
    width_in: float | None = None
    max_height_in: float = 18.0
    heading: bool = True
    dpi: int = 150
    formats: tuple[str, ...] = ("png",)


STYLES: dict[str, FigureStyle] = {
    "screen": FigureStyle(),
    # A paper's text width (5.5 in: NeurIPS, ICLR), 8 pt text as in a 10 pt paper's captions.
    "paper": FigureStyle("paper", font_pt=8.0, small_pt=7.0, heading_pt=8.5, line_width=1.2, width_in=5.5,
                         max_height_in=7.5, heading=False, dpi=300, formats=("pdf", "png")),
    # One column of a two-column paper (3.25 in: ICML, CVPR, IEEE).
    "paper_column": FigureStyle("paper_column", font_pt=7.0, small_pt=6.0, heading_pt=7.5, line_width=1.0,
                                width_in=3.25, max_height_in=6.0, heading=False, dpi=300, formats=("pdf", "png")),
}
"""The presets: ``screen`` (the default), ``paper`` (text width) and ``paper_column``. Every
style embeds TrueType (Type 42) fonts in PDFs: venues refuse Type 3."""

_CURRENT: contextvars.ContextVar[FigureStyle] = contextvars.ContextVar("alfred_figure_style", default=STYLES["screen"])


def figure_style(style: str | FigureStyle | None = None, **overrides: Any) -> FigureStyle:
    """A style by name (``screen``, ``paper``, ``paper_column``) or as given, with ``overrides``
    (e.g. ``width_in=6.75`` for a two-column paper's full width); None: the current one."""
    if style is None:
        base = current_style()
    elif isinstance(style, FigureStyle):
        base = style
    elif style in STYLES:
        base = STYLES[style]
    else:
        raise ValueError(f"unknown figure style {style!r}; valid: {', '.join(STYLES)} (or a FigureStyle)")
    return replace(base, **overrides) if overrides else base


def current_style() -> FigureStyle:
    """The style figures are drawn in now (``screen`` unless inside :func:`use_style`)."""
    return _CURRENT.get()


@contextmanager
def use_style(style: str | FigureStyle | None = None, **overrides: Any) -> Iterator[FigureStyle]:
    """Draw every figure made inside the block in ``style`` (see :func:`figure_style`)."""
    token = _CURRENT.set(figure_style(style, **overrides) if style is not None or overrides else current_style())
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


@contextmanager
def drawing_style(style: str | FigureStyle | None = None, font_size: float | None = None) -> Iterator[FigureStyle]:
    """What a figure function's ``style=`` and ``font_size=`` arguments mean: that style (None:
    the current one) with its text ``font_size`` points (ticks and legends 7/8 of it)."""
    overrides = {} if font_size is None else {"font_pt": float(font_size), "small_pt": round(0.875 * font_size, 2),
                                              "heading_pt": round(1.12 * font_size, 2)}
    if style is None and not overrides:
        yield current_style()
        return
    with use_style(style if style is not None else current_style(), **overrides) as active:
        yield active


def output_formats(extra: str | list[str] | tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The files a summary or comparison writes per figure: PNG always (the report embeds it),
    the current style's formats (PDF too for the paper styles), and ``extra`` ("pdf,svg")."""
    if isinstance(extra, str):
        extra = [f for f in extra.split(",") if f.strip()]
    wanted = ["png", *current_style().formats, *(f.strip().lower().lstrip(".") for f in extra or ())]
    return tuple(dict.fromkeys(wanted))
