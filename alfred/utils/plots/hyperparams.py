"""Hyperparameters: the values a random search sampled, and each score against each varied value.

Both draw values given to them (the sampled configurations, the experiments' scores and
intervals computed elsewhere); nothing here loads results or resamples.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from alfred.utils.plots.style import MAX_PANELS, new_figure, palette, shorten, styled, tilt_if_crowded

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ["draw_sampled_hyperparams", "plot_sampled_hyperparams_figures", "plot_sensitivity"]

_DISCRETE_MAX_UNIQUE = 10  # numeric hyperparameters with at most this many values get count bars


# ----------------------------------------------------------------------------- helpers


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
    return shorten(str(value), 16)


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
        tilt_if_crowded(ax, tick_text, chars_per_axis=36)
    title = shorten(name, 40)
    if kind == "numeric" and n_missing:
        title += f" ({n_missing} unset)"
    ax.set_title(title)
    ax.set_ylabel("count")


def draw_sampled_hyperparams(
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
    :func:`plot_sampled_hyperparams_figures`, which splits them over several figures. (The
    0.2 form, one strip of points per hyperparameter, is
    :func:`alfred.utils.plots.plot_sampled_hyperparams`.)

    Args:
        axes: panels to draw on, any array/sequence shape holding at least ``len(samples)``
            axes (spare ones are hidden); ``None`` creates a grid of up to 4 columns.
        samples: ``name -> sampled values``, one value per sampled configuration.
        bins: number of histogram bins for numeric hyperparameters.
        title: figure title (suptitle).

    Returns:
        The figure holding the panels (not the axes), ready for ``save_fig``.

    Raises:
        ValueError: if ``samples`` is empty, ``axes`` are too few, or more than
            ``MAX_PANELS`` panels would be needed.
    """
    if not samples:
        raise ValueError("samples is empty: nothing to plot")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    n = len(samples)
    with styled():
        if axes is None:
            n_cols = min(4, n)
            fig, grid = new_figure(math.ceil(n / n_cols), n_cols, panel_size=(3.6, 2.8))
            ax_list = list(grid.ravel())
        else:
            ax_list = list(np.asarray(axes, dtype=object).ravel())
            if len(ax_list) < n:
                raise ValueError(f"got {len(ax_list)} axes for {n} hyperparameters")
            fig = ax_list[0].get_figure()
        colors = palette(n)
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
        samples: ``name -> sampled values``, see :func:`draw_sampled_hyperparams`.
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
        figs.append(draw_sampled_hyperparams(samples=chunk, bins=bins, title=f"{title}{suffix}" if title else ""))
    return figs


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
    from matplotlib.colors import to_rgba

    rng = np.random.default_rng(0)
    point_color, box_color = palette()[0], palette()[7]
    with styled():
        if not varied:
            fig, grid = new_figure(1, 1)
            ax = grid[0, 0]
            ax.text(0.5, 0.5, "no hyperparameter varies", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            if title:
                fig.suptitle(title)
            return fig
        n_cols = min(3, len(varied))
        fig, grid = new_figure(math.ceil(len(varied) / n_cols), n_cols, panel_size=(4.0, 3.2), sharey=True)
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
                tilt_if_crowded(ax, cats, chars_per_axis=40)
            label = shorten(name, 40)
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
