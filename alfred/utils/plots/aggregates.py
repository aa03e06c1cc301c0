"""rliable's figures: aggregate scores over tasks with their intervals, one row per algorithm;
performance profiles; probability of improvement of one algorithm over another.

Each draws estimates computed elsewhere, by :func:`alfred.utils.stats.interval_estimates`,
:func:`~alfred.utils.stats.performance_profile_ci` and
:func:`~alfred.utils.stats.probability_of_improvement_ci`; nothing here resamples.
(Agarwal et al., 2021, "Deep reinforcement learning at the edge of the statistical precipice".)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from alfred.utils.plots.axes import head_figure, number_formatter
from alfred.utils.plots.curves import draw_curves
from alfred.utils.plots.presets import FigureStyle, drawing_style
from alfred.utils.plots.style import MAX_BARS, MAX_PANELS, colors_for, fit_text, new_figure, styled, wrap_words

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ["plot_interval_estimates", "plot_performance_profiles", "plot_probability_of_improvement"]

METRIC_TITLES = {"iqm": "IQM", "mean": "Mean", "median": "Median", "optimality_gap": "Optimality gap"}
TauScale = Literal["linear", "log", "runs"]


def _named(names: Sequence[str], labels: Mapping[str, str] | None, width: int = 30) -> list[str]:
    """Display names: ``labels[name]`` when given, cut between words past ``width`` characters."""
    return [wrap_words(str((labels or {}).get(n, n)), width, max_lines=2) for n in names]


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
    labels: Mapping[str, str] | None = None,
    metric_names: Mapping[str, str] | None = None,
    figsize: tuple[float, float] | None = None,
    font_size: float | None = None,
    style: str | FigureStyle | None = None,
    n_cols: int | None = None,
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
        labels: ``{algorithm: name shown}`` (e.g. ``{"ppo_v2": "PPO"}``); others as given.
        metric_names: ``{aggregate: panel title}``, e.g. ``{"iqm": "IQM of human-normalised score"}``.
        figsize: (width, height) in inches of the whole figure (default: from the style).
        font_size: text size in points (ticks and legends 7/8 of it); default: the style's.
        style: ``"screen"``, ``"paper"``, ``"paper_column"`` or a FigureStyle (default: the
            current one, see :func:`~alfred.utils.plots.use_style`).
        n_cols: panels per row (default: all in one row, or 2 per row when they would be
            under 1.5 inches wide, as in one column of a paper).

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
    with drawing_style(style, font_size) as active, styled():
        if n_cols is None:
            wide = active.width_in is None or active.width_in / len(metrics) >= 1.5
            n_cols = len(metrics) if wide else min(2, len(metrics))
        n_rows = math.ceil(len(metrics) / n_cols)
        fig, axes = new_figure(n_rows, n_cols, panel_size=(3.4, max(1.8, 0.9 + 0.45 * len(algs))), sharey=True,
                               figsize=figsize)
        for ax, m in zip(axes.ravel(), metrics):
            rows = [table[a, m] for a in algs]
            _interval_rows(ax, rows, color_list)
            ax.set_xlim(*_padded(min(r[1] for r in rows), max(r[2] for r in rows)))
            name = (metric_names or {}).get(m) or METRIC_TITLES.get(m, m)
            title_text = name + ("\n(lower is better)" if m == "optimality_gap" else "")
            ax.set_title(wrap_words(title_text, 28, 3), fontsize="medium")
            ax.grid(axis="y", visible=False)
            ax.locator_params(axis="x", nbins=4 if n_cols < 4 or active.width_in is None else 3)
        for ax in axes.ravel()[len(metrics):]:
            ax.set_visible(False)
        if xlabel:
            fig.supxlabel(wrap_words(xlabel, int(fig.get_size_inches()[0] * 72 / (0.6 * active.font_pt)), 2),
                          fontsize="medium")
        for row in axes:
            row[0].set_yticks(np.arange(len(algs)), _named(algs, labels))
            row[0].set_ylim(len(algs) - 0.5, -0.5)  # first algorithm on top
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
    labels: Mapping[str, str] | None = None,
    tau_scale: TauScale = "linear",
    figsize: tuple[float, float] | None = None,
    font_size: float | None = None,
    style: str | FigureStyle | None = None,
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
        labels: ``{algorithm: name shown}`` in the legend; others as given.
        tau_scale: the x-axis: ``"linear"``; ``"log"`` (positive taus); or ``"runs"``,
            rliable's non-linear scaling: the distance between two thresholds is the share
            of runs (averaged over the algorithms) scoring between them, so that a range
            where few runs lie takes little room; its ticks are labelled with tau values.
        figsize: (width, height) in inches (default: from the style).
        font_size: text size in points (ticks and legends 7/8 of it); default: the style's.
        style: ``"screen"``, ``"paper"``, ``"paper_column"`` or a FigureStyle (default: the current one).

    Returns:
        The figure (one axes; y from 0 to 1).

    Raises:
        ValueError: if ``profiles`` is empty, an array's length differs from ``taus``', or
            ``tau_scale`` is unknown (or ``"log"`` with a tau <= 0).
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
    if tau_scale not in ("linear", "log", "runs"):
        raise ValueError(f"tau_scale must be 'linear', 'log' or 'runs', got {tau_scale!r}")
    if tau_scale == "log" and not (x > 0).all():
        raise ValueError("tau_scale='log' needs positive taus; use 'runs' (rliable's non-linear scaling) instead")
    with drawing_style(style, font_size), styled():
        fig, axes = new_figure(1, 1, panel_size=(6.0, 4.0), figsize=figsize)
        ax = axes[0, 0]
        draw_curves(ax, x, points, lowers=lowers, uppers=uppers, labels=_named(algs, labels), colors=colors,
                    xlabel=xlabel, ylabel=ylabel)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(float(x.min()), float(x.max()))
        if tau_scale == "log":
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(number_formatter)
        elif tau_scale == "runs":
            _runs_scale(ax, x, points)
        if title or small or subtitle:
            head_figure(fig, title, small=small, subtitle=subtitle)
    return fig


def _runs_scale(ax: Axes, taus: np.ndarray, profiles: list[np.ndarray]) -> None:
    """rliable's non-linear tau axis: x = the share of runs (mean over algorithms) scoring at or
    below tau, plus a sliver of linear spacing so that it strictly increases; ticks at the taus
    where that share is 0, 1/4, 1/2, 3/4 and 1, labelled with their tau values."""
    from matplotlib.ticker import NullLocator

    order = np.argsort(taus)
    t = taus[order]
    share = 1.0 - np.mean([p[order] for p in profiles], axis=0)
    share = np.maximum.accumulate(np.nan_to_num(share, nan=0.0))
    span = t[-1] - t[0] if t[-1] > t[0] else 1.0
    position = share + 0.02 * (t - t[0]) / span

    def forward(v):
        return np.interp(v, t, position)

    def inverse(u):
        return np.interp(u, position, t)

    ax.set_xscale("function", functions=(forward, inverse))
    decimals = max(0, 2 - int(np.floor(np.log10(span))))  # two significant digits of the tau range
    ticks = np.unique(np.round(inverse(np.linspace(position[0], position[-1], 5)), decimals))
    ax.set_xticks(ticks, [number_formatter(v) for v in ticks])
    ax.xaxis.set_minor_locator(NullLocator())


def plot_probability_of_improvement(
    pairs: Mapping[tuple[str, str], Any],
    *,
    title: str = "",
    small: str = "",
    subtitle: str = "",
    colors: Any = None,
    labels: Mapping[str, str] | None = None,
    xlabel: str | None = None,
    figsize: tuple[float, float] | None = None,
    font_size: float | None = None,
    style: str | FigureStyle | None = None,
) -> Figure:
    """Draw P(X > Y) with its interval for pairs of algorithms, one row per pair.

    The left tick label names X, the right one Y (rliable's layout); a dashed line marks
    0.5, no difference. The axis spans 0 to 1, the whole range of a probability. Each row
    shows its estimate as a dot, even when its interval has no width (an estimate of 0.0
    from runs that never beat the other's is a dot at 0, not an invisible bar), and its
    numbers, ``0.00 [0.00, 0.00]``, beside it.

    Args:
        pairs: ``{(x, y): (point, lower, upper)}``, e.g. from
            :func:`alfred.utils.stats.probability_of_improvement_ci` of x's scores against y's.
            At most ``MAX_BARS`` pairs.
        title: figure title; ``small``: small print under it; ``subtitle``: lines under that.
        small: see ``title``.
        subtitle: see ``title``.
        colors: one colour per pair (or one for all); ``None`` cycles the palette.
        labels: ``{algorithm: name shown}``; others as given.
        xlabel: the x-axis label (default: what P(X > Y) means).
        figsize: (width, height) in inches (default: from the style).
        font_size: text size in points (ticks and legends 7/8 of it); default: the style's.
        style: ``"screen"``, ``"paper"``, ``"paper_column"`` or a FigureStyle (default: the current one).

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
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator

    color_list = colors_for(colors, len(rows), "pairs")
    with drawing_style(style, font_size), styled():
        fig, axes = new_figure(1, 1, panel_size=(7.0, max(1.8, 1.0 + 0.45 * len(rows))), figsize=figsize)
        ax = axes[0, 0]
        _interval_rows(ax, rows, color_list)
        y = np.arange(len(rows))
        ax.scatter([r[0] for r in rows], y, s=28, color=color_list, edgecolor="black", linewidth=0.8, zorder=4,
                   clip_on=False)  # the estimate shows even with a zero-width interval, at 0 or 1
        for yi, (point, lower, upper) in zip(y, rows):
            right = upper <= 0.72  # the numbers where there is room: right of the interval, else left of it
            ax.annotate(f"{point:.2f} [{lower:.2f}, {upper:.2f}]", xy=(upper if right else lower, yi),
                        xytext=(6 if right else -6, 0), textcoords="offset points", ha="left" if right else "right",
                        va="center", fontsize="small", color="0.15")
        ax.axvline(0.5, color="0.3", ls="--", lw=1.0, zorder=1)
        ax.set_xlim(-0.03, 1.03)  # all of [0, 1], a dot at either end whole
        # Quarters where the panel has room, halves where it is narrow (a column-wide figure); labels as
        # short as they can be (0, 0.25, 0.5): matplotlib picks the count at draw time, from the label size.
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", steps=[2.5, 5, 10], min_n_ticks=3))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.set_yticks(y, _named([x for x, _ in keys], labels))
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(fit_text(ax, xlabel if xlabel is not None else
                               "P(X > Y): probability that a run of X (left) scores better than a run of Y (right)\n"
                               "on the same task, averaged over tasks; 0.5: no difference", max_lines=5))
        twin = ax.twinx()
        ax.tick_params(axis="y", left=False)  # twinx turned the left tick marks on
        twin.set_ylim(ax.get_ylim())
        twin.set_yticks(y, _named([yk for _, yk in keys], labels))
        twin.grid(False)
        twin.tick_params(axis="y", length=0)
        if title or small or subtitle:
            head_figure(fig, title, small=small, subtitle=subtitle)
    return fig
