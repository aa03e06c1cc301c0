"""The figures of a search's summary, drawn from computed estimates (see alfred.results.scoring).

Nothing here loads recorders or bootstraps: each function receives the scores and curves
a summary computed, draws with alfred.utils.plots, and saves.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from alfred.results.labels import experiment_label, storage_title
from alfred.results.scoring import CurveBand, SearchScores, band_name

__all__ = ["curve_figure", "bar_figure", "sensitivity_figure"]

_GREY = "0.8"  # every experiment outside the top ones


def curve_figure(scores: SearchScores, bands: list[CurveBand], path: Path, *, n_resamples: int) -> None:
    """The top experiments' curves with intervals (``bands``, best first), the others in grey."""
    from alfred.utils import plots

    s = scores.settings
    top = [b.experiment for b in bands]
    fig, axes = plots.new_figure(1, 1, panel_size=(9.0, 5.0))
    ax = axes[0, 0]
    others = [e for e in scores.experiments if e not in top]
    if others:  # every other experiment as a thin grey mean curve, behind: one LineCollection (fast)
        from matplotlib.collections import LineCollection

        segments = []
        for e in others:
            x, y = scores.mean_curves[e]
            stride = max(1, len(x) // 500)  # a background line needs no more than ~500 points
            segments.append(np.column_stack([x[::stride], y[::stride]]))
        ax.add_collection(LineCollection(segments, colors=_GREY, linewidths=0.7, zorder=1))
        ax.plot([], [], color=_GREY, lw=0.8)  # the legend's handle for them
        ax.autoscale_view()
    labels = [f"#{rank} {experiment_label(b.experiment, scores.configs.get(b.experiment, {}), scores.varied, 45)} "
              f"(n={b.n_seeds})" for rank, b in enumerate(bands, start=1)]
    with_bands = s.y_error_bars != "none"
    plots.draw_curves(ax, [b.x for b in bands], [b.point for b in bands],
                      lowers=[b.lower for b in bands] if with_bands else None,
                      uppers=[b.upper for b in bands] if with_bands else None,
                      labels=labels, xlabel=s.x_metric or "entry index", ylabel=s.y_metric, legend=False)
    for b in bands:  # one-point runs draw no line: mark them
        if len(b.x) == 1:
            ax.plot(b.x, b.point, "o", color="0.3", ms=4)
    _legend(ax, labels=(([f"{len(others)} other experiments (means)"] if others else []) + labels),
            n_grey=1 if others else 0)
    shown = f"top {len(top)} of {len(scores.experiments)} experiments" if others else f"{len(top)} experiments"
    ax.set_title(f"{storage_title(scores.storage_dir)}\n{s.y_metric}: {band_name(s.y_error_bars, n_resamples)}; "
                 f"{shown} by {s.performance_aggregation} {s.perf_metric}", fontsize="medium")
    plots.save_fig(fig, path)


def _legend(ax, *, labels: list[str], n_grey: int) -> None:
    """A legend with one entry per labelled curve, outside the axes on the right."""
    lines = ax.get_lines()
    grey = [ln for ln in lines if ln.get_color() == _GREY][:n_grey]
    colored = [ln for ln in lines if ln.get_color() != _GREY and ln.get_linestyle() != "None"]
    handles = grey + colored[: len(labels) - len(grey)]
    ax.legend(handles, labels[: len(handles)], fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))


def bar_figure(scores: SearchScores, path: Path, *, n_resamples: int, top_k: int = 30) -> None:
    """Every experiment's performance with its interval, best first; the best and the
    experiments whose intervals overlap it highlighted."""
    from alfred.utils import plots

    s = scores.settings
    labels = [f"{experiment_label(e, scores.configs.get(e, {}), scores.varied, 50)} (n={len(scores.seed_scores[e])})"
              for e in scores.experiments]
    overlap = set(scores.overlapping())
    highlight = {labels[scores.experiments.index(e)] for e in overlap | {scores.best}}
    with_bands = s.y_error_bars != "none"
    ax = plots.draw_ranked_bars(scores=scores.point, labels=labels, lowers=scores.lower if with_bands else None,
                         uppers=scores.upper if with_bands else None,
                         ylabel=f"{s.performance_aggregation} {s.perf_metric} "
                                f"({band_name(s.y_error_bars, n_resamples)})",
                         title=f"{storage_title(scores.storage_dir)}\n"
                               f"{'lower' if s.lower_is_better else 'higher'} is better; best: exp{scores.best}",
                         top_k=min(top_k, len(labels)), sort="ascending" if s.lower_is_better else "descending",
                         highlight=highlight if with_bands else None,
                         highlight_label="best, and intervals overlapping it", max_label_len=60)
    legend = ax.get_legend()
    if legend is not None:  # outside the axes: inside, it can hide a bar
        handles = legend.legend_handles
        texts = [t.get_text() for t in legend.get_texts()]
        legend.remove()
        ax.legend(handles, texts, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        w, h = ax.figure.get_size_inches()
        ax.figure.set_size_inches(w + 2.5, h)
    plots.save_fig(ax.figure, path)


def sensitivity_figure(scores: SearchScores, path: Path) -> bool:
    """Performance against each varied hyperparameter; False (nothing drawn) when there is
    nothing to show (no varied key, more than 12, or fewer than 3 experiments)."""
    from alfred.utils import plots

    varied = scores.varied
    if not varied or len(varied) > 12 or len(scores.experiments) < 3:
        return False
    hyper = {k: [scores.configs[e].get(k) for e in scores.experiments] for k in varied}
    hyper = {k: [tuple(v) if isinstance(v, list) else v for v in vals] for k, vals in hyper.items()}
    with_bands = scores.settings.y_error_bars != "none"
    fig = plots.plot_sensitivity(scores.point, hyper, ylabel=f"{scores.settings.performance_aggregation} "
                                                           f"{scores.settings.perf_metric}",
                                 lowers=scores.lower if with_bands else None,
                                 uppers=scores.upper if with_bands else None,
                                 title=storage_title(scores.storage_dir))
    plots.save_fig(fig, path)
    return True
