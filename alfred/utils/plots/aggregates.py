"""rliable's figures: aggregate scores over tasks with their intervals, one row per algorithm;
performance profiles; probability of improvement of one algorithm over another.

Each draws estimates computed elsewhere, by :func:`alfred.utils.stats.interval_estimates`,
:func:`~alfred.utils.stats.performance_profile_ci` and
:func:`~alfred.utils.stats.probability_of_improvement_ci`; nothing here resamples.
(Agarwal et al., 2021, "Deep reinforcement learning at the edge of the statistical precipice".)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from alfred.utils.plots.axes import head_figure
from alfred.utils.plots.curves import draw_curves
from alfred.utils.plots.style import MAX_BARS, MAX_PANELS, colors_for, new_figure, shorten, styled

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ["plot_interval_estimates", "plot_performance_profiles", "plot_probability_of_improvement"]

METRIC_TITLES = {"iqm": "IQM", "mean": "Mean", "median": "Median", "optimality_gap": "Optimality gap"}


def _triple(value: Any, what: str) -> tuple[float, float, float]:
    """(point, lower, upper) of an ``IntervalEstimate`` or any 3-sequence."""
    try:
        point, lower, upper = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be (point, lower, upper), got {value!r}") from None
    return point, lower, upper


def _padded(lo: float, hi: float, pad: float = 0.08) -> tuple[float, float]:
    span = hi - lo if hi > lo else (abs(hi) * 0.1 or 0.1)
    return lo - pad * span, hi + pad * span


def _interval_rows(ax: Axes, rows: list[tuple[float, float, float]], colors: list[Any]) -> None:
    """One translucent bar from lower to upper and a tick at the point per row (rliable's look)."""
    for y, ((point, lower, upper), color) in enumerate(zip(rows, colors)):
        ax.barh(y, upper - lower, left=lower, height=0.6, color=color, alpha=0.75, lw=0)
        ax.vlines(point, y - 0.3, y + 0.3, color="black", lw=2.0, zorder=3)


def plot_interval_estimates(
    estimates: Mapping[str, Mapping[str, Any]],
    *,
    metrics: Sequence[str] | None = None,
    xlabel: str = "",
    title: str = "",
    small: str = "",
    subtitle: str = "",
    colors: Any = None,
) -> Figure:
    """Draw aggregate estimates with intervals: one panel per aggregate, one row per algorithm.

    Each row is a bar spanning the interval with a black tick at the point estimate, as in
    rliable's ``plot_interval_estimates``; each panel's axis is zoomed to its values.
    ``optimality_gap`` panels say "lower is better".

    Args:
        estimates: ``{algorithm: {aggregate: (point, lower, upper)}}``, e.g. the output of
            :func:`alfred.utils.stats.interval_estimates`. At most ``MAX_BARS`` algorithms.
        metrics: aggregates to draw, in order; ``None``: those of the first algorithm.
        xlabel: label under every panel (e.g. "min-max normalised score").
        title: figure title; ``small``: small print under it; ``subtitle``: lines under that.
        small: see ``title``.
        subtitle: see ``title``.
        colors: one colour per algorithm (or one for all); ``None`` cycles the palette.

    Returns:
        The figure.

    Raises:
        ValueError: if ``estimates`` is empty, an algorithm lacks an aggregate, or there
            are too many algorithms or aggregates.
    """
    algs = [str(a) for a in estimates]
    if not algs:
        raise ValueError("estimates is empty: nothing to plot")
    if len(algs) > MAX_BARS:
        raise ValueError(f"{len(algs)} algorithms are illegible in one figure (at most {MAX_BARS})")
    metrics = list(metrics) if metrics is not None else [str(m) for m in next(iter(estimates.values()))]
    if not metrics or len(metrics) > MAX_PANELS:
        raise ValueError(f"give between 1 and {MAX_PANELS} aggregates, got {len(metrics)}")
    table = {}
    for alg, by_metric in zip(algs, estimates.values()):
        for m in metrics:
            if m not in by_metric:
                raise ValueError(f"estimates[{alg!r}] has no {m!r}; it has {sorted(by_metric)}")
            table[alg, m] = _triple(by_metric[m], f"estimates[{alg!r}][{m!r}]")
    color_list = colors_for(colors, len(algs), "algorithms")
    with styled():
        fig, axes = new_figure(1, len(metrics), panel_size=(3.4, max(1.8, 0.9 + 0.45 * len(algs))), sharey=True)
        for ax, m in zip(axes[0], metrics):
            rows = [table[a, m] for a in algs]
            _interval_rows(ax, rows, color_list)
            ax.set_xlim(*_padded(min(r[1] for r in rows), max(r[2] for r in rows)))
            name = METRIC_TITLES.get(m, m)
            ax.set_title(name + (" (lower is better)" if m == "optimality_gap" else ""), fontsize="medium")
            ax.grid(axis="y", visible=False)
            ax.locator_params(axis="x", nbins=4)
        if xlabel:
            fig.supxlabel(xlabel, fontsize="medium")
        axes[0, 0].set_yticks(np.arange(len(algs)), [shorten(a, 30) for a in algs])
        axes[0, 0].set_ylim(len(algs) - 0.5, -0.5)  # first algorithm on top
        if title or small or subtitle:
            head_figure(fig, title, small=small, subtitle=subtitle)
    return fig


def plot_performance_profiles(
    taus: ArrayLike,
    profiles: Mapping[str, Any],
    *,
    xlabel: str = "normalised score (τ)",
    ylabel: str = "fraction of runs with score > τ",
    title: str = "",
    small: str = "",
    subtitle: str = "",
    colors: Any = None,
) -> Figure:
    """Draw performance profiles (score distributions) with their bands, one curve per algorithm.

    Args:
        taus: thresholds, shape (n_taus,).
        profiles: ``{algorithm: (profile, lower, upper)}``, each array shape (n_taus,), e.g.
            from :func:`alfred.utils.stats.performance_profile_ci`.
        xlabel: x-axis label.
        ylabel: y-axis label.
        title: figure title; ``small``: small print under it; ``subtitle``: lines under that.
        small: see ``title``.
        subtitle: see ``title``.
        colors: one colour per algorithm; ``None`` cycles the palette.

    Returns:
        The figure (one axes; y from 0 to 1).

    Raises:
        ValueError: if ``profiles`` is empty or an array's length differs from ``taus``'.
    """
    x = np.asarray(taus, dtype=float).reshape(-1)
    if not profiles:
        raise ValueError("profiles is empty: nothing to plot")
    algs = [str(a) for a in profiles]
    points, lowers, uppers = [], [], []
    for alg, value in zip(algs, profiles.values()):
        try:
            p, lo, up = (np.asarray(v, dtype=float).reshape(-1) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"profiles[{alg!r}] must be (profile, lower, upper) arrays") from None
        if not p.size == lo.size == up.size == x.size:
            raise ValueError(f"profiles[{alg!r}] arrays must have len(taus) = {x.size} values")
        points.append(p)
        lowers.append(lo)
        uppers.append(up)
    with styled():
        fig, axes = new_figure(1, 1, panel_size=(6.0, 4.0))
        ax = axes[0, 0]
        draw_curves(ax, x, points, lowers=lowers, uppers=uppers, labels=[shorten(a, 30) for a in algs],
                    colors=colors, xlabel=xlabel, ylabel=ylabel)
        ax.set_ylim(-0.02, 1.02)
        if title or small or subtitle:
            head_figure(fig, title, small=small, subtitle=subtitle)
    return fig


def plot_probability_of_improvement(
    pairs: Mapping[tuple[str, str], Any],
    *,
    title: str = "",
    small: str = "",
    subtitle: str = "",
    colors: Any = None,
) -> Figure:
    """Draw P(X > Y) with its interval for pairs of algorithms, one row per pair.

    The left tick label names X, the right one Y (rliable's layout); a dashed line marks
    0.5, no difference. The axis spans the intervals and 0.5 (within [0, 1]).

    Args:
        pairs: ``{(x, y): (point, lower, upper)}``, e.g. from
            :func:`alfred.utils.stats.probability_of_improvement_ci` of x's scores against y's.
            At most ``MAX_BARS`` pairs.
        title: figure title; ``small``: small print under it; ``subtitle``: lines under that.
        small: see ``title``.
        subtitle: see ``title``.
        colors: one colour per pair (or one for all); ``None`` cycles the palette.

    Returns:
        The figure (its right-hand labels are on a twin axes, ``fig.axes[-1]``).

    Raises:
        ValueError: if ``pairs`` is empty, holds too many pairs or a malformed key or value.
    """
    if not pairs:
        raise ValueError("pairs is empty: nothing to plot")
    if len(pairs) > MAX_BARS:
        raise ValueError(f"{len(pairs)} pairs are illegible in one figure (at most {MAX_BARS})")
    keys, rows = [], []
    for key, value in pairs.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"pairs keys must be (x, y) tuples of algorithm names, got {key!r}")
        keys.append((str(key[0]), str(key[1])))
        rows.append(_triple(value, f"pairs[{key!r}]"))
    color_list = colors_for(colors, len(rows), "pairs")
    with styled():
        fig, axes = new_figure(1, 1, panel_size=(7.0, max(1.8, 1.0 + 0.45 * len(rows))))
        ax = axes[0, 0]
        _interval_rows(ax, rows, color_list)
        ax.axvline(0.5, color="0.3", ls="--", lw=1.0, zorder=1)
        lo = min(0.5, min(r[1] for r in rows))
        hi = max(0.5, max(r[2] for r in rows))
        ax.set_xlim(*(max(0.0, v) if i == 0 else min(1.0, v) for i, v in enumerate(_padded(lo, hi))))
        ax.set_yticks(np.arange(len(rows)), [shorten(x, 30) for x, _ in keys])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("P(X > Y): probability that a run of X (left) scores better than a run of Y (right)\n"
                      "on the same task, averaged over tasks; 0.5: no difference")
        twin = ax.twinx()
        ax.tick_params(axis="y", left=False)  # twinx turned the left tick marks on
        twin.set_ylim(ax.get_ylim())
        twin.set_yticks(np.arange(len(rows)), [shorten(y, 30) for _, y in keys])
        twin.grid(False)
        twin.tick_params(axis="y", length=0)
        if title or small or subtitle:
            head_figure(fig, title, small=small, subtitle=subtitle)
    return fig
