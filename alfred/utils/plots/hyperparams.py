"""Hyperparameters a random search sampled (``variations<k>.png``): histograms of continuous
values (log bins when log-spaced), one count bar per value otherwise.

Drawn from the sampled configurations given; nothing here loads results. (Scores against
each hyperparameter: :mod:`alfred.utils.plots.sensitivity`.)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from alfred.utils.plots.axes import head_figure, is_log_spaced
from alfred.utils.plots.presets import current_style
from alfred.utils.plots.style import MAX_PANELS, fit_text, new_figure, palette, shorten, styled, tilt_if_crowded

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["draw_sampled_hyperparams", "is_continuous", "plot_sampled_hyperparams_figures"]

_DISCRETE_MAX_UNIQUE = 10  # numeric hyperparameters with more distinct values are continuous
_RUG_MAX = 200  # samples drawn one by one under a histogram up to this many


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


def is_continuous(numbers: np.ndarray) -> bool:
    """Tell whether sampled numbers come from a continuous range rather than a list of choices.

    True with more than 10 distinct values, or when non-integer values are mostly distinct
    (each drawn about once: e.g. 8 log-uniform learning rates), where one count bar per value
    would show a row of bars of height 1. Integers and repeated values (choices among
    0, 1e-4, 1e-3) are discrete.

    Args:
        numbers: the sampled values, shape (n,), finite.
    """
    distinct = np.unique(numbers)
    if distinct.size > _DISCRETE_MAX_UNIQUE:
        return True
    fractional = bool(np.any(distinct != np.round(distinct)))
    return fractional and distinct.size >= 3 and distinct.size > numbers.size / 2


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
    log = False
    if numbers is not None and is_continuous(numbers):
        n_bins = int(min(bins, max(5, math.ceil(2.0 * numbers.size ** (1 / 3)))))  # Rice's rule, capped
        log = is_log_spaced(numbers)
        if log:
            edges = np.geomspace(numbers.min(), numbers.max(), n_bins + 1)
        else:
            edges = np.histogram_bin_edges(numbers, bins=n_bins)
        ax.hist(numbers, bins=edges, color=color, edgecolor="white", linewidth=0.5)
        if numbers.size <= _RUG_MAX:  # every sample as a tick under the bars
            ax.scatter(numbers, np.full(numbers.size, 0.0), marker="|", s=60, color="0.2", linewidth=1.0,
                       transform=ax.get_xaxis_transform(), zorder=3, clip_on=False)
        if log:  # after plotting: an empty axes warns when made log
            from alfred.utils.plots.axes import fit_log_ticks

            ax.set_xscale("log")
            fit_log_ticks(ax, "x", float(edges[0]), float(edges[-1]))  # 0.01, 0.1 as in a config, never overlapping
        ax.yaxis.get_major_locator().set_params(integer=True)
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
    title = name + (f" ({n_missing} unset)" if kind == "numeric" and n_missing else "")
    title = fit_text(ax, title, max_lines=2)  # wrapped to the panel's width, between words
    if log:
        ax.set_xlabel("log-spaced bins", fontsize="small", color="0.3")
    ax.set_title(title)
    ax.set_ylabel("count")


def draw_sampled_hyperparams(
    axes: np.ndarray | Sequence[Axes] | None = None,
    *,
    samples: Mapping[str, Sequence[Any]],
    bins: int = 20,
    title: str = "",
    small: str = "",
) -> Figure:
    """Draw the distribution of each sampled hyperparameter, one panel each.

    Continuous numeric hyperparameters (:func:`is_continuous`: more than 10 distinct values,
    or non-integer values mostly drawn once) get a histogram (Rice's rule for the number of
    bins, at most ``bins``) with every sample marked by a tick under it (up to 200 samples),
    on a log x-axis with log-spaced bins when :func:`~alfred.utils.plots.is_log_spaced`;
    other hyperparameters (strings, bools, integers or repeated choices) get one count bar
    per value. ``None``/NaN values count as unset. Used for ``variations<k>.png`` of a random
    search; with more than about 12 hyperparameters prefer
    :func:`plot_sampled_hyperparams_figures`, which splits them over several figures. (The
    0.2 form, one strip of points per hyperparameter, is
    :func:`alfred.utils.plots.plot_sampled_hyperparams`.)

    Args:
        axes: panels to draw on, any array/sequence shape holding at least ``len(samples)``
            axes (spare ones are hidden); ``None`` creates a grid of up to 4 columns.
        samples: ``name -> sampled values``, one value per sampled configuration.
        bins: most histogram bins for continuous hyperparameters.
        title: figure title (see :func:`~alfred.utils.plots.head_figure`).
        small: small print under the title (e.g. the storage folder's name).

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
            width = current_style().width_in
            n_cols = min(4, n) if width is None else max(1, min(4, n, int(width / 1.6)))
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
        if title or small:
            head_figure(fig, title, small=small)
    return fig


def plot_sampled_hyperparams_figures(
    samples: Mapping[str, Sequence[Any]],
    per_fig: int = 12,
    *,
    bins: int = 20,
    title: str = "Sampled hyperparameters",
    small: str = "",
) -> list[Figure]:
    """Split many sampled hyperparameters over several figures of at most ``per_fig`` panels.

    Args:
        samples: ``name -> sampled values``, see :func:`draw_sampled_hyperparams`.
        per_fig: most panels per figure, 1 <= per_fig <= ``MAX_PANELS``.
        bins: number of histogram bins for numeric hyperparameters.
        title: title of each figure; ``" (i/k)"`` is appended when there are several.
        small: small print under each title (e.g. the storage folder's name).

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
        figs.append(draw_sampled_hyperparams(samples=chunk, bins=bins, title=f"{title}{suffix}" if title else "",
                                             small=small))
    return figs
