"""The figures of compare_searches and compare_models, drawn from what
alfred.results.comparison computed; each function returns its figure(s), the caller saves.

Nothing here loads or resamples: the scores and curves' estimates come from
alfred.results.scoring, the aggregates, profiles and probabilities of improvement from
alfred.results.comparison.model_aggregates (alfred.utils.stats).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from alfred.results.scoring import band_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["aggregates_record", "draw_aggregate_figures", "draw_models_figure", "draw_searches_figure"]


def draw_searches_figure(distributions: dict[str, np.ndarray], settings, *, heading: str, small: str) -> Figure:
    """compare_searches: one violin (cut at the data) per search, of its experiments' scores.

    Args:
        distributions: label -> the search's experiment scores, shape (n_experiments,).
        settings: the ResultsSettings (metric names, direction, interval kind).
        heading: figure title; small: small print under it.
        small: see ``heading``.
    """
    from alfred.utils import plots

    point = "median" if settings.y_error_bars == "10th_quantile" else "mean"
    ax = plots.draw_densities(distributions=distributions,
                              ylabel=f"{settings.performance_aggregation} {settings.perf_metric} ({point} over seeds)")
    plots.head_figure(ax.figure, heading, small=small,
                      subtitle=f"one point per experiment; {'lower' if settings.lower_is_better else 'higher'} "
                               "is better")
    return ax.figure


def draw_models_figure(by_task: dict[str, list], tasks: list[str], settings, *, heading: str, small: str,
                       n_resamples: int) -> Figure:
    """compare_models: one panel per task, each compared model's curve (its best experiment)
    with its interval; identical curves are dashed over each other and noted.

    Args:
        by_task: task -> [(label, CurveBand)], the models run on it.
        tasks: the panels' order.
        settings: the ResultsSettings (metrics, interval kind).
        heading: figure title; small: small print under it.
        small: see ``heading``.
        n_resamples: the resample count of the bands, unless they carry their own (``n_resamples``).
    """
    from alfred.utils import plots

    n_cols = min(3, len(tasks))
    fig, axes = plots.new_figure(math.ceil(len(tasks) / n_cols), n_cols, panel_size=(5.0, 3.6))
    with_bands = settings.y_error_bars != "none"
    bands = [b for rows in by_task.values() for _, b in rows]
    n = getattr(bands[0], "n_resamples", None) or n_resamples
    fitted = 0
    for ax, task in zip(axes.ravel(), tasks):
        rows = by_task[task]
        plots.draw_curves(ax, [b.x for _, b in rows], [b.point for _, b in rows],
                          lowers=[b.lower for _, b in rows] if with_bands else None,
                          uppers=[b.upper for _, b in rows] if with_bands else None,
                          labels=[label for label, _ in rows],
                          xlabel=settings.x_metric or "entry index", ylabel=settings.y_metric, title=task)
        drawn = [(b.x, y) for _, b in rows for y in ((b.point, b.lower, b.upper) if with_bands else (b.point,))]
        fitted += plots.zoom_past_transient(ax, [d[0] for d in drawn], [d[1] for d in drawn]) is not None
    for ax in axes.ravel()[len(tasks):]:
        ax.set_visible(False)
    zoom = "\ny-axes fitted past the first 10% of steps: the first steps leave them" if fitted else ""
    plots.head_figure(fig, heading, small=small,
                      subtitle=f"{settings.y_metric} over seeds of each best experiment: "
                               f"{band_name(settings.y_error_bars, n)}{zoom}")
    return fig


def _score_name(aggregates: dict, settings) -> str:
    metric = f"{settings.performance_aggregation} {settings.perf_metric}"
    return f"{metric}, min-max normalised per task" if aggregates["normalised"] else metric


def draw_aggregate_figures(aggregates: dict, settings, *, heading: str, small: str) -> dict[str, Figure]:
    """rliable's three figures: aggregate estimates, performance profiles, probabilities of improvement.

    Args:
        aggregates: the output of alfred.results.comparison.model_aggregates.
        settings: the ResultsSettings.
        heading: figure title; small: small print under it.
        small: see ``heading``.

    Returns:
        ``{"aggregates", "profiles", "improvement"}`` -> figure.
    """
    from alfred.utils import plots

    n = aggregates["n_resamples"]
    tasks = aggregates["tasks"]
    score = _score_name(aggregates, settings)
    over = f"over {len(tasks)} task{'s' if len(tasks) > 1 else ''} ({', '.join(tasks)})"
    how = f"95% stratified bootstrap CIs ({n} resamples)"
    norm = ("\nper task, 0 = the worst run of any algorithm, 1 = the best"
            + ("; lower raw scores are better" if settings.lower_is_better else "")) if aggregates["normalised"] else ""
    direction = "" if aggregates["normalised"] else ("; lower is better" if settings.lower_is_better
                                                     else "; higher is better")
    better = "lower" if settings.lower_is_better else "higher"
    return {
        "aggregates": plots.plot_interval_estimates(aggregates["aggregates"], xlabel=score, title=heading, small=small,
                                                    subtitle=f"aggregate scores {over}: {how}{direction}{norm}"),
        "profiles": plots.plot_performance_profiles(aggregates["taus"], aggregates["profiles"], xlabel=f"{score} (τ)",
                                                    title=heading, small=small,
                                                    subtitle=f"performance profiles {over}: {how}{norm}"),
        "improvement": plots.plot_probability_of_improvement(
            aggregates["improvement"], title=heading, small=small,
            subtitle=f"probability of improvement {over}: {how}\n"
                     f"better = a {better} {settings.performance_aggregation} {settings.perf_metric}"),
    }


def aggregates_record(aggregates: dict) -> dict:
    """The numbers of ``aggregates`` as JSON-ready lists ([point, lower, upper])."""
    def triple(est) -> list:
        return [float(v) for v in est]

    return {
        "tasks": aggregates["tasks"], "normalised": aggregates["normalised"],
        "n_resamples": aggregates["n_resamples"],
        "aggregates": {a: {k: triple(v) for k, v in by.items()} for a, by in aggregates["aggregates"].items()},
        "probability_of_improvement": [{"x": x, "y": y, "estimate": triple(v)}
                                       for (x, y), v in aggregates["improvement"].items()],
        "performance_profiles": {"taus": np.asarray(aggregates["taus"]).tolist(),
                                 **{a: [np.asarray(v).tolist() for v in est]
                                    for a, est in aggregates["profiles"].items()}},
    }
