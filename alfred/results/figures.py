"""The figures of a search's summary, drawn from computed estimates (see alfred.results.scoring).

Nothing here loads recorders or bootstraps: each function receives the scores and curves a
summary computed, derives what a figure shows of them (which experiments are drawn one by
one, the spread of the others, which hyperparameter colours the sensitivity points), draws
with alfred.utils.plots and saves.

Every figure is titled ``alg · task · desc`` with the storage folder's name in small print,
and states its interval with the resample count read from the estimates it draws.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from alfred.results.labels import experiment_label, experiment_label_lines, storage_heading
from alfred.results.scoring import CurveBand, SearchScores, band_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "MAX_THIN_CURVES",
    "bar_figure",
    "curve_figure",
    "explained_share",
    "sensitivity_figure",
]

# Files per figure: PNG (looked at, embedded in the report), and what the style adds (PDF for the
# paper styles) or the caller asks for (alfred.utils.plots.output_formats).
MAX_THIN_CURVES = 30  # past this many other experiments, their mean curves are summarised by a band
BANDS_SHOWN = 3  # learning curves: the intervals of the top 3 are shaded, more would be a muddy overlap
PRINT_TOP_K = 5  # learning curves in a paper style: the top 5 one by one, the others grey
_GREY = "0.6"


def _resamples(estimates: object, given: int | None) -> int | None:
    """The resample count the estimates were computed with (their ``n_resamples``), else ``given``."""
    found = getattr(estimates, "n_resamples", None)
    return int(found) if found is not None else given


def _others_spread(scores: SearchScores, others: list[int]) -> tuple[np.ndarray, ...]:
    """(x, median, 10% quantile, 90% quantile) over the other experiments' mean curves, on the
    x values of the longest one (curves with other x values are interpolated onto them)."""
    curves = [scores.mean_curves[e] for e in others]
    x = max((c[0] for c in curves), key=len).astype(float)
    rows = np.full((len(curves), x.size), np.nan)
    for i, (cx, cy) in enumerate(curves):
        if cx.size == x.size and np.array_equal(cx, x):
            rows[i] = cy
        elif cx.size:
            finite = np.isfinite(cy)
            if finite.sum() >= 1:
                rows[i] = np.interp(x, cx[finite], cy[finite], left=np.nan, right=np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # columns without any value stay NaN
            q10, med, q90 = np.nanpercentile(rows, [10, 50, 90], axis=0)
    return x, med, q10, q90


def curve_figure(scores: SearchScores, bands: list[CurveBand], path: Path, *, n_resamples: int | None = None,
                 formats: tuple[str, ...] | None = None) -> None:
    """Save :func:`draw_curve_figure` at ``path`` (``formats``; None: output_formats())."""
    from alfred.utils import plots

    fig = draw_curve_figure(scores, bands, n_resamples=n_resamples)
    plots.save_fig(fig, path, formats=formats or plots.output_formats(), tight=False)


def draw_curve_figure(scores: SearchScores, bands: list[CurveBand], *, n_resamples: int | None = None) -> Figure:
    """The top experiments' curves with intervals (``bands``, best first); the others as thin
    grey means, or past ``MAX_THIN_CURVES`` as their median and 10-90% range."""
    from alfred.utils import plots

    s = scores.settings
    style = plots.current_style()
    below = style.width_in is not None  # in print, the legend goes under the plot: no room beside it
    if below:
        bands = bands[:PRINT_TOP_K]  # a legend under a column-wide plot holds a few entries
    top = [b.experiment for b in bands]
    fig, axes = plots.new_figure(1, 1, panel_size=(9.0, 5.0))
    ax = axes[0, 0]
    others = [e for e in scores.experiments if e not in top and e in scores.mean_curves]
    background = [scores.mean_curves[e] for e in others]  # what is drawn behind the top ones
    if len(others) > MAX_THIN_CURVES:
        x, med, q10, q90 = _others_spread(scores, others)
        plots.draw_curve_spread(ax, x, med, q10, q90, color=_GREY,
                                label=f"{len(others)} other experiments: median and 10-90% of their means")
        background = [(x, q10), (x, q90)]
    elif others:
        plots.draw_thin_curves(ax, [scores.mean_curves[e][0] for e in others],
                               [scores.mean_curves[e][1] for e in others], color="0.75",
                               label=f"{len(others)} other experiment{'s' if len(others) > 1 else ''} (means)")
    columns = 2 if below and style.width_in >= 5 else 1
    chars = 42 if not below else int((style.width_in * 72 / columns - 3.5 * style.small_pt) / (0.72 * style.small_pt))
    labels = [experiment_label_lines(b.experiment, scores.configs.get(b.experiment, {}), scores.varied,
                                     prefix=f"#{rank} ", suffix=f" (n={b.n_seeds})", width=max(28, chars))
              for rank, b in enumerate(bands, start=1)]
    with_bands = s.y_error_bars != "none"
    colors, styles = plots.ranked_colors(len(bands))  # never the grey of the others
    plots.draw_curves(ax, [b.x for b in bands], [b.point for b in bands],
                      lowers=[b.lower for b in bands] if with_bands else None,
                      uppers=[b.upper for b in bands] if with_bands else None, n_bands=BANDS_SHOWN,
                      labels=labels, colors=colors, linestyles=styles, xlabel=s.x_metric or "entry index",
                      ylabel=s.y_metric, legend_outside=True)
    for b in bands:  # one-point runs draw no line: mark them
        if len(b.x) == 1:
            ax.plot(b.x, b.point, "o", color="0.3", ms=4, label="_nolegend_")
    drawn = [(b.x, y) for b in bands[: BANDS_SHOWN if with_bands else 0] for y in (b.lower, b.upper)]
    drawn += [(b.x, b.point) for b in bands] + background
    fitted_from = plots.zoom_past_transient(ax, [d[0] for d in drawn], [d[1] for d in drawn])
    if below:
        plots.legend_below(ax)
    n = _resamples(bands[0], None) if bands else None
    n = n if n is not None else _resamples(scores, n_resamples)
    shown = f"top {len(top)} of {len(scores.experiments)} experiments" if others else f"{len(top)} experiments"
    banded = f"; bands: the top {BANDS_SHOWN}" if with_bands and len(bands) > BANDS_SHOWN else ""
    zoom = (f"\ny-axis fitted to {s.x_metric or 'entry index'} >= {fitted_from:.4g}: the first steps leave it"
            if fitted_from is not None else "")
    heading, small = storage_heading(scores.storage_dir)
    plots.head_figure(fig, heading, small=small,
                      subtitle=f"{s.y_metric} over seeds: {band_name(s.y_error_bars, n)}{banded}\n"
                               f"{shown}, ranked by {s.performance_aggregation} {s.perf_metric}{zoom}")
    return fig


def _p_best_text(scores: SearchScores) -> str:
    """``P(best) 0.62`` of the chosen experiment, from the scores' ``p_best`` when computed."""
    p_best = scores.p_best  # in the order of scores.experiments; empty when not computed
    if not p_best.size:
        return ""
    share = p_best[scores.experiments.index(scores.best)]
    if not np.isfinite(share):
        return f"; P(best): cannot tell (n={scores.n_seeds(scores.best)})"
    return f"; P(best) {share:.2f}"


def bar_figure(scores: SearchScores, path: Path, *, n_resamples: int | None = None, top_k: int = 30,
               is_retrain: bool = False, retrain_of: dict | None = None,
               formats: tuple[str, ...] | None = None) -> None:
    """Save :func:`draw_bar_figure` at ``path`` (``formats``; None: output_formats()); for a
    retrain, the search's estimate beside the retrain's (alfred.results.retrain_view)."""
    from alfred.utils import plots

    if is_retrain:
        from alfred.results.retrain_view import draw_retrain_figure

        fig = draw_retrain_figure(scores, retrain_of, n_resamples=n_resamples)
    else:
        fig = draw_bar_figure(scores, n_resamples=n_resamples, top_k=top_k)
    plots.save_fig(fig, path, formats=formats or plots.output_formats(), tight=False)


def draw_bar_figure(scores: SearchScores, *, n_resamples: int | None = None, top_k: int = 30) -> Figure:
    """Every experiment's performance as a dot with its interval, best on top, on an axis
    zoomed to the data, each seed's score a grey dot under it; the best and the experiments
    whose intervals overlap it coloured."""
    from alfred.utils import plots

    s = scores.settings
    n_seeds = [len(scores.seed_scores[e]) for e in scores.experiments]
    style = plots.current_style()  # names take at most about 2/5 of a printed figure's width
    chars = 50 if style.width_in is None else int(style.width_in * 72 * 0.4 / (0.62 * style.small_pt)) - 6
    labels = [f"{experiment_label(e, scores.configs.get(e, {}), scores.varied, chars)} (n={k})"
              for e, k in zip(scores.experiments, n_seeds)]
    with_bands = s.y_error_bars != "none"
    one_seed = np.array(n_seeds) < 2  # one seed shows no spread: no interval to draw
    lower = np.where(one_seed, np.nan, scores.lower) if with_bands else None
    upper = np.where(one_seed, np.nan, scores.upper) if with_bands else None
    best_label = labels[scores.experiments.index(scores.best)]
    categories = {best_label: "best"}
    if with_bands:
        for e in scores.overlapping():
            categories[labels[scores.experiments.index(e)]] = "interval overlaps the best's"
    n = _resamples(scores, n_resamples)
    ax = plots.draw_ranked_intervals(
        scores=scores.point, labels=labels, lowers=lower, uppers=upper,
        xlabel=f"{s.performance_aggregation} {s.perf_metric} per seed: {band_name(s.y_error_bars, n)}",
        top_k=min(top_k, len(labels)), sort="ascending" if s.lower_is_better else "descending",
        categories=categories, reference=best_label if with_bands else None, max_label_len=60,
        points={lab: list(scores.seed_scores[e].values()) for lab, e in zip(labels, scores.experiments)},
        value_notes={lab: f"all {scores.n_seeds(e)} seeds equal" for lab, e in zip(labels, scores.experiments)
                     if with_bands and scores.all_equal(e)})
    heading, small = storage_heading(scores.storage_dir)
    direction = "lower" if s.lower_is_better else "higher"
    plots.head_figure(ax.figure, heading, small=small,
                      subtitle=f"{direction} is better; best: exp{scores.best}{_p_best_text(scores)}")
    return ax.figure


def _group_keys(values: list) -> list[str]:
    """One key per value: its JSON text, or its quintile for many distinct numbers."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric and len(set(values)) > 8:
        edges = np.quantile(np.asarray(values, dtype=float), [0.2, 0.4, 0.6, 0.8])
        return [str(int(np.searchsorted(edges, v))) for v in values]
    return [json.dumps(v, sort_keys=True) for v in values]


def explained_share(scores: np.ndarray, values: list) -> float:
    """Share of the scores' variance between the groups of one hyperparameter's values (eta
    squared; many distinct numbers are grouped by quintile); NaN scores are left out."""
    y = np.asarray(scores, dtype=float)
    keep = np.isfinite(y)
    y = y[keep]
    if y.size < 2 or y.var() == 0:
        return 0.0
    keys = np.array(_group_keys([v for v, k in zip(values, keep) if k]))
    between = sum(((keys == k).sum() * (y[keys == k].mean() - y.mean()) ** 2) for k in set(keys))
    return float(between / (y.size * y.var()))


def sensitivity_figure(scores: SearchScores, path: Path, *, n_resamples: int | None = None,
                       formats: tuple[str, ...] | None = None) -> bool:
    """Save :func:`draw_sensitivity_figure` at ``path`` (``formats``; None: output_formats());
    False when there is none."""
    from alfred.utils import plots

    fig = draw_sensitivity_figure(scores, n_resamples=n_resamples)
    if fig is None:
        return False
    plots.save_fig(fig, path, formats=formats or plots.output_formats(), tight=False)
    return True


def draw_sensitivity_figure(scores: SearchScores, *, n_resamples: int | None = None) -> Figure | None:
    """Performance against each varied hyperparameter, coloured by the other varied one that
    explains most of the scores' variance; None when there is nothing to show (no varied
    key, more than 12, or fewer than 3 experiments)."""
    from alfred.utils import plots

    varied = scores.varied
    if not varied or len(varied) > 12 or len(scores.experiments) < 3:
        return None
    hyper = {k: [scores.configs[e].get(k) for e in scores.experiments] for k in varied}
    hyper = {k: [tuple(v) if isinstance(v, list) else v for v in vals] for k, vals in hyper.items()}
    share = {k: explained_share(scores.point, vals) for k, vals in hyper.items()}
    color_by = {k: max((o for o in hyper if o != k), key=lambda o: share[o], default=None) for k in hyper}
    s = scores.settings
    with_bands = s.y_error_bars != "none"
    heading, small = storage_heading(scores.storage_dir)
    coloured = "\ncolours: the other hyperparameter explaining most of the scores' variance" if len(hyper) > 1 else ""
    fig = plots.plot_sensitivity(scores.point, hyper, ylabel=f"{s.performance_aggregation} {s.perf_metric}",
                                 lowers=scores.lower if with_bands else None,
                                 uppers=scores.upper if with_bands else None,
                                 title=heading, small=small, color_by=color_by,
                                 subtitle=f"one point per experiment: "
                                          f"{band_name(s.y_error_bars, _resamples(scores, n_resamples))}{coloured}")
    return fig
