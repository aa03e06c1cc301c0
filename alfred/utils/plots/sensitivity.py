"""Sensitivity: each experiment's score against each varied hyperparameter, one panel each,
the points coloured by another varied hyperparameter.

Drawn from the scores, intervals and configurations given (computed elsewhere, e.g. by
:mod:`alfred.results.scoring`); nothing here loads results or resamples.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from alfred.utils.plots.axes import MAX_VALUE_TICKS, head_figure, is_log_spaced, value_axis
from alfred.utils.plots.hyperparams import _category_label, _classify, _is_missing, _is_number
from alfred.utils.plots.presets import current_style
from alfred.utils.plots.style import MAX_PANELS, new_figure, palette, styled, tilt_if_crowded, wrap_words

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ["plot_sensitivity"]

_UNSET = "unset"


def _varied(hyperparams: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    return {str(name): list(values) for name, values in hyperparams.items()
            if len({_category_label(v) if not _is_number(v) else float(v) for v in values}) > 1}


class _Colours:
    """How the points of a panel are coloured by one hyperparameter's value per experiment.

    Few distinct values (<= ``max_colors``) or strings: one palette colour per value and a
    legend; many numbers: a colour map (log-scaled when the values are log-spaced) and a
    colour bar.
    """

    def __init__(self, name: str | None, values: list[Any] | None, max_colors: int) -> None:
        self.name = name
        self.groups: list[str] = []
        self.group_of: list[str] = []
        self.color_of: dict[str, Any] = {}
        self.numbers: np.ndarray | None = None
        self.norm = None
        if name is None or values is None:
            return
        kind, _ = _classify(values)
        labels = [_UNSET if _is_missing(v) else _category_label(v) for v in values]
        distinct = set(labels)
        if kind == "numeric" and len(distinct - {_UNSET}) > max_colors:
            from matplotlib.colors import LogNorm, Normalize

            self.numbers = np.array([np.nan if _is_missing(v) else float(v) for v in values])
            finite = self.numbers[np.isfinite(self.numbers)]
            self.norm = (LogNorm if is_log_spaced(finite) else Normalize)(finite.min(), finite.max())
            return
        if kind == "numeric":
            order = sorted(distinct - {_UNSET}, key=lambda t: float(next(v for v, lab in zip(values, labels)
                                                                          if lab == t)))
        else:
            order = sorted(distinct - {_UNSET})
        if len(order) > max_colors:  # the most frequent values keep a colour, the rest are "other"
            keep = {t for t, _ in Counter(lab for lab in labels if lab != _UNSET).most_common(max_colors - 1)}
            order = [t for t in order if t in keep] + ["other"]
            labels = [lab if lab in keep or lab == _UNSET else "other" for lab in labels]
        if _UNSET in distinct:
            order.append(_UNSET)
        colors = palette(len(order))
        self.color_of = {t: colors[i] for i, t in enumerate(order)}
        for grey in ("other", _UNSET):
            if grey in self.color_of:
                self.color_of[grey] = "0.6"
        self.groups, self.group_of = order, labels

    @property
    def mapped(self) -> bool:
        return self.numbers is not None


def _dodged(ax: Axes, x: np.ndarray, y: np.ndarray, rank: np.ndarray, n_at: np.ndarray) -> np.ndarray:
    """``x`` moved sideways by a few points: at one x value, the colour groups present there side
    by side (in their order), so that no point hides another. Uses the axis' final scale and
    limits (log axes too); the returned values are data coordinates."""
    step = np.minimum(6.0, 24.0 / np.maximum(n_at, 1))
    shift = (rank - (n_at - 1) / 2.0) * step * ax.figure.dpi / 72.0  # points -> pixels
    disp = ax.transData.transform(np.column_stack([x, y]))
    disp[:, 0] += shift
    return ax.transData.inverted().transform(disp)[:, 0]


def _scale_axis(ax: Axes, kind: str, x: np.ndarray, y: np.ndarray, yerr: np.ndarray | None,
                cats: list[str]) -> None:
    """Set the panel's x scale and both limits from the data, before the (dodged) drawing."""
    ys = y if yerr is None else np.concatenate([y, y - yerr[0], y + yerr[1]])
    if x.size:
        ax.update_datalim(np.column_stack([np.resize(x, ys.size), ys]))
    if kind == "numeric":
        if x.size:
            value_axis(ax, "x", x)
        ax.margins(x=0.08)
        ax.autoscale_view()
    else:
        ax.autoscale_view()
        ax.set_xticks(np.arange(len(cats)), cats)
        ax.set_xlim(-0.6, len(cats) - 0.4)
        ax.grid(axis="x", visible=False)
        tilt_if_crowded(ax, cats, chars_per_axis=40)
    ax.set_xlim(ax.get_xlim())  # frozen: the dodge below is computed in this frame
    ax.set_ylim(ax.get_ylim())


def _same_elsewhere(rows: np.ndarray, idx: np.ndarray, others: list[list[Any]]) -> list[np.ndarray]:
    """Groups (of 2 or more, positions in ``rows``' panel arrays) of the experiments at ``rows``
    whose every other varied hyperparameter is equal: a line through one shows one effect."""
    groups: dict[tuple, list[int]] = {}
    for r in rows:
        key = tuple(_category_label(values[idx[r]]) for values in others)
        groups.setdefault(key, []).append(int(r))
    return [np.array(g) for g in groups.values() if len(g) >= 2]


def _panel(ax: Axes, fig: Figure, name: str, values: list[Any], y: np.ndarray, yerr: np.ndarray | None,
           colours: _Colours, rng: np.random.Generator, others: list[list[Any]]) -> None:
    """Draw one panel: the scores against ``values``, coloured, dodged, joined within a colour."""
    kind, n_missing = _classify(values)
    keep = np.array([not _is_missing(v) for v in values]) & np.isfinite(y)
    idx = np.flatnonzero(keep)
    cats: list[str] = []
    if kind == "numeric":
        x = np.array([float(values[i]) for i in idx])
        grid_like = np.unique(x).size <= MAX_VALUE_TICKS
    else:
        labels = [_category_label(values[i]) for i in idx]
        cats = sorted(set(labels))
        x = np.array([cats.index(lab) for lab in labels], dtype=float)
        grid_like = True
    py, perr = y[idx], None if yerr is None else yerr[:, idx]
    _scale_axis(ax, kind, x, py, perr, cats)
    groups = colours.groups if (colours.groups and not colours.mapped) else [""]
    group = np.array([colours.group_of[i] if groups != [""] else "" for i in idx], dtype=object)
    order = {g: j for j, g in enumerate(groups)}
    if grid_like and len(groups) > 1:  # rank of each point's colour among those at its x
        rank, n_at = np.zeros(idx.size), np.ones(idx.size)
        for xv in np.unique(x):
            at = np.flatnonzero(x == xv)
            present = sorted({group[i] for i in at}, key=order.get)
            for i in at:
                rank[i], n_at[i] = present.index(group[i]), len(present)
        px = _dodged(ax, x, py, rank, n_at)
    elif kind != "numeric":  # one cloud per category: spread it out
        px = x + rng.uniform(-0.15, 0.15, x.size)
    else:
        px = x
    point_color = palette()[0]
    for g in groups:
        sel = group == g
        if not sel.any():
            continue
        color = colours.color_of.get(g, point_color)
        if perr is not None:
            ax.errorbar(px[sel], py[sel], yerr=perr[:, sel], fmt="none", ecolor=color, alpha=0.55, elinewidth=0.9,
                        zorder=2)
        if kind == "numeric" and grid_like:  # join experiments that differ only in this panel's value
            for members in _same_elsewhere(np.flatnonzero(sel), idx, others):
                line = members[np.argsort(x[members])]
                ax.plot(px[line], py[line], color=color, lw=0.9, alpha=0.6, zorder=2)
        if colours.mapped:
            ax.scatter(px[sel], py[sel], s=22, c=colours.numbers[idx][sel], cmap="viridis", norm=colours.norm,
                       edgecolor="white", linewidth=0.4, zorder=3)
        else:
            ax.scatter(px[sel], py[sel], s=22, color=color, edgecolor="white", linewidth=0.4, zorder=3,
                       label=g if g else "_nolegend_")
    label = name + (f" ({n_missing} unset)" if n_missing else "")
    ax.set_xlabel(wrap_words(label, 40, max_lines=2))
    if colours.name is not None and not colours.mapped and len(colours.groups) > 1:
        from matplotlib.lines import Line2D

        handles, texts = ax.get_legend_handles_labels()  # one row above the panel: "name: o a  o b"
        ax.legend([Line2D([], [], ls="none"), *handles], [f"{wrap_words(colours.name, 30, max_lines=1)}:", *texts],
                  loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=len(handles) + 1, frameon=False,
                  fontsize="small", handlelength=0.8, handletextpad=0.3, columnspacing=0.9, borderaxespad=0.1)
    elif colours.mapped:
        from matplotlib.cm import ScalarMappable
        from matplotlib.ticker import NullFormatter

        from alfred.utils.plots.axes import number_formatter

        # Above its panel, like the legends of the other panels: a bar at the right of a panel
        # sits next to the panel beside it, whose label its own would then seem to be.
        bar = fig.colorbar(ScalarMappable(norm=colours.norm, cmap="viridis"), ax=ax, location="top", pad=0.02,
                           fraction=0.05, aspect=30)
        bar.set_label(wrap_words(colours.name or "", 40, max_lines=1), fontsize="small", labelpad=2)
        bar.ax.xaxis.set_major_formatter(number_formatter)  # 0.001, 0.01 rather than 10^-3
        bar.ax.xaxis.set_minor_formatter(NullFormatter())
        bar.ax.tick_params(labelsize="small")


def plot_sensitivity(
    scores: ArrayLike,
    hyperparams: Mapping[str, Sequence[Any]],
    *,
    ylabel: str = "score",
    lowers: ArrayLike | None = None,
    uppers: ArrayLike | None = None,
    max_panels: int = 12,
    title: str = "",
    small: str = "",
    subtitle: str = "",
    color_by: Mapping[str, str | None] | None = None,
    max_colors: int = 8,
) -> Figure:
    """Draw each experiment's score against each varied hyperparameter, one panel each.

    Numeric hyperparameters give a scatter on a log x-axis when their values are
    log-spaced (:func:`~alfred.utils.plots.is_log_spaced`: 0.03 / 0.3 / 1), with one tick
    per value for grids; categorical ones (strings, bools, mixed) one column per category.
    The points of a panel are coloured by another varied hyperparameter (``color_by``), with
    a legend titled by its name, or a colour bar when it takes many numeric values; at a
    grid value the colours are shifted sideways a few points so that none hides another,
    and the experiments of one colour are joined by a thin line when they differ only in
    the panel's hyperparameter (one per x). Hyperparameters with a single value are skipped
    (not varied); experiments where the panel's hyperparameter is unset (None/NaN) or the
    score is NaN are left out of that panel. Panels share the score axis.

    Args:
        scores: score per experiment, shape (n_experiments,).
        hyperparams: ``name -> value per experiment``, each of length n_experiments.
        ylabel: score-axis label.
        lowers: lower bound of each score's interval, shape (n_experiments,), NaN where
            there is none; drawn as error bars. Give ``uppers`` too.
        uppers: upper bound of each score's interval, shape (n_experiments,).
        max_panels: most varied hyperparameters allowed, 1 <= max_panels <= ``MAX_PANELS``.
        title: figure title (see :func:`~alfred.utils.plots.head_figure`).
        small: small print under the title (e.g. the storage folder's name).
        subtitle: lines under it (e.g. how the scores and intervals were made).
        color_by: panel hyperparameter -> the varied hyperparameter colouring its points
            (``None``: one colour), e.g. the one explaining most of the scores' variance;
            a panel missing from it is coloured by the first other varied hyperparameter.
        max_colors: most distinct values given a colour each: past it, numbers get a
            colour map and strings an "other" colour for the rarest.

    Returns:
        The figure (one panel per varied hyperparameter, or one panel saying none varies).

    Raises:
        ValueError: on mismatched lengths, only one of lowers/uppers, a ``color_by`` naming
            no varied hyperparameter, or more varied hyperparameters than ``max_panels``
            (pass a subset, or split over figures).
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
    varied = _varied(hyperparams)
    if len(varied) > max_panels:
        raise ValueError(f"{len(varied)} hyperparameters vary, more than max_panels={max_panels}: "
                         "pass a subset or split them over several figures")
    chosen = {}
    for name in varied:
        others = [k for k in varied if k != name]
        c = (color_by or {}).get(name, others[0] if others else None)
        if c is not None and c not in varied:
            raise ValueError(f"color_by[{name!r}] = {c!r} is not a varied hyperparameter; varied: {sorted(varied)}")
        chosen[name] = c if c != name else None
    yerr = None
    if lo is not None and up is not None:
        yerr = np.vstack([np.nan_to_num(np.clip(y - lo, 0, None)), np.nan_to_num(np.clip(up - y, 0, None))])
    rng = np.random.default_rng(0)
    with styled():
        if not varied:
            fig, grid = new_figure(1, 1)
            ax = grid[0, 0]
            ax.text(0.5, 0.5, "no hyperparameter varies", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
        else:
            width = current_style().width_in  # in print, panels at least 1.6 inches wide
            n_cols = min(3, len(varied)) if width is None else max(1, min(3, len(varied), int(width / 1.6)))
            fig, grid = new_figure(math.ceil(len(varied) / n_cols), n_cols, panel_size=(4.6, 3.4), sharey=True)
            ax_list = list(grid.ravel())
            for ax, (name, values) in zip(ax_list, varied.items()):
                c = chosen[name]
                colours = _Colours(c, varied.get(c) if c else None, max_colors)
                others = [v for k, v in varied.items() if k != name]
                _panel(ax, fig, name, values, y, yerr, colours, rng, others)
            for ax in grid[:, 0]:
                ax.set_ylabel(ylabel)
            for ax in ax_list[len(varied):]:
                ax.set_visible(False)
        if title or small or subtitle:
            head_figure(fig, title, small=small, subtitle=subtitle)
    return fig
