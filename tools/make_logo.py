"""Draw the project picture ``alfred.jpg``: a bow-tied wordmark next to a grid of experiments.

Run from anywhere: ``python tools/make_logo.py [output_path]`` (default: ``alfred.jpg`` at
the repository top level). The picture is 1200 x 400 pixels; writing JPEG needs pillow.
The grid of squares suggests a hyperparameter search: experiments done (blue), running
(orange, filled up to their progress), failed (vermillion) and queued (grey outline).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath

plt.switch_backend("Agg")  # no screen needed

WIDTH_PX, HEIGHT_PX, DPI = 1200, 400, 100
BACKGROUND = "#fbfaf6"
INK = "#1d2538"
MUTED = "#6b7080"
PALETTE = sns.color_palette("colorblind")
DONE, RUNNING, FAILED = PALETTE[0], PALETTE[1], PALETTE[3]
QUEUED = "#c9ccd3"

# status of each cell of the 4 x 6 grid, row by row from the top left;
# a float in (0, 1) is a running experiment's progress
GRID: list[list[str | float]] = [
    ["done", "done", "done", "done", "done", "done"],
    ["done", "done", "failed", "done", "done", "done"],
    ["done", 0.8, 0.55, 0.3, "queued", "queued"],
    ["queued", "queued", "queued", "queued", "queued", "queued"],
]


def _cell(ax: Axes, x: float, y: float, size: float, status: str | float) -> None:
    """Draw one experiment as a rounded square of ``size`` (data units) with lower left (x, y)."""
    style = f"round,pad=0,rounding_size={0.16 * size}"
    if status == "queued":
        ax.add_patch(FancyBboxPatch((x, y), size, size, boxstyle=style, facecolor="none",
                                    edgecolor=QUEUED, linewidth=2.0))
        return
    if isinstance(status, float):  # running: outline, filled from the bottom up to its progress
        box = FancyBboxPatch((x, y), size, size, boxstyle=style, facecolor="white",
                             edgecolor=RUNNING, linewidth=2.2)
        ax.add_patch(box)
        fill = Rectangle((x, y), size, size * status, facecolor=RUNNING, edgecolor="none", alpha=0.9)
        fill.set_clip_path(box)
        ax.add_patch(fill)
        return
    colour = DONE if status == "done" else FAILED
    ax.add_patch(FancyBboxPatch((x, y), size, size, boxstyle=style, facecolor=colour, edgecolor="none"))
    if status == "failed":  # a small white cross
        m = 0.3 * size
        ax.plot([x + m, x + size - m], [y + m, y + size - m], color="white", lw=2.4, solid_capstyle="round")
        ax.plot([x + m, x + size - m], [y + size - m, y + m], color="white", lw=2.4, solid_capstyle="round")


def _bow_tie(ax: Axes, cx: float, cy: float, width: float, colour: str) -> None:
    """Draw a bow tie of total ``width`` (data units) centred on (cx, cy)."""
    h = 0.42 * width  # height of a wing at its outer end
    knot_w, knot_h = 0.16 * width, 0.22 * width
    for side in (-1, 1):
        inner = cx + side * 0.05 * width
        outer = cx + side * 0.5 * width
        verts = [
            (inner, cy + 0.08 * width),
            (cx + side * 0.22 * width, cy + 0.12 * width), (outer, cy + 0.62 * h), (outer, cy + 0.35 * h),
            (outer + side * 0.03 * width, cy), (outer, cy - 0.35 * h), (outer, cy - 0.35 * h),
            (outer, cy - 0.62 * h), (cx + side * 0.22 * width, cy - 0.12 * width), (inner, cy - 0.08 * width),
            (inner, cy + 0.08 * width),
        ]
        codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4,
                 MplPath.CURVE3, MplPath.CURVE3, MplPath.LINETO,
                 MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
        ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=colour, edgecolor=colour, linewidth=1.0))
        # a fold line on each wing, for a bit of depth
        ax.plot([cx + side * 0.14 * width, cx + side * 0.36 * width], [cy + 0.02 * width, cy + 0.06 * width],
                color=BACKGROUND, lw=1.4, alpha=0.35, solid_capstyle="round")
    ax.add_patch(FancyBboxPatch((cx - knot_w / 2, cy - knot_h / 2), knot_w, knot_h,
                                boxstyle=f"round,pad=0,rounding_size={0.35 * knot_w}",
                                facecolor=colour, edgecolor=BACKGROUND, linewidth=2.0))


def make_logo(path: Path) -> Path:
    """Draw the picture and save it as a JPEG of 1200 x 400 pixels at ``path``.

    Args:
        path: output file, normally ``alfred.jpg`` at the repository top level.

    Returns:
        The path written.
    """
    fig = plt.figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=BACKGROUND)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, 12.0)
    ax.set_ylim(0.0, 4.0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_facecolor(BACKGROUND)

    # the grid of experiments, left
    size, gap = 0.46, 0.12
    x0, y_top = 0.75, 3.28
    for r, row in enumerate(GRID):
        for c, status in enumerate(row):
            _cell(ax, x0 + c * (size + gap), y_top - size - r * (size + gap), size, status)
    # its legend, under it, spread over the grid's width
    y_leg = y_top - len(GRID) * (size + gap) - 0.3
    grid_width = len(GRID[0]) * (size + gap) - gap
    entries = (("done", "done"), ("running", 0.5), ("failed", "failed"), ("queued", "queued"))
    texts = [ax.text(0.0, y_leg, label, va="center", ha="left", fontsize=11.5, color=MUTED,
                     family="DejaVu Sans") for label, _ in entries]
    fig.canvas.draw()
    inverse = ax.transData.inverted()
    widths = [t.get_window_extent().transformed(inverse).width for t in texts]
    marker, pad = 0.2, 0.08
    spacing = (grid_width - sum(widths) - len(entries) * (marker + pad)) / (len(entries) - 1)
    x = x0
    for (_, status), text, width in zip(entries, texts, widths):
        _cell(ax, x, y_leg - marker / 2, marker, status)
        text.set_x(x + marker + pad)
        x += marker + pad + width + spacing

    # a thin divider
    ax.plot([4.55, 4.55], [0.75, 3.25], color="#e1e2e6", lw=1.5)

    # the wordmark with its bow tie, right
    word = ax.text(5.0, 1.72, "alfred", fontsize=112, family="DejaVu Serif", weight="bold",
                   color=INK, ha="left", va="baseline")
    fig.canvas.draw()
    bbox = word.get_window_extent().transformed(ax.transData.inverted())
    _bow_tie(ax, (bbox.x0 + bbox.x1) / 2, 3.44, 1.3, INK)
    ax.text(5.07, 1.02, "hyperparameter searches from folders and flag files", fontsize=17,
            color=MUTED, family="DejaVu Sans", ha="left", va="center")
    ax.text(5.07, 0.64, "no server, no database", fontsize=17, color=MUTED, family="DejaVu Sans",
            ha="left", va="center", style="italic")

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, facecolor=BACKGROUND, pil_kwargs={"quality": 92, "optimize": True})
    plt.close(fig)
    return path


if __name__ == "__main__":
    default = Path(__file__).resolve().parent.parent / "alfred.jpg"
    out = make_logo(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
    print(f"wrote {out}")
