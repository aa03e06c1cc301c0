"""The figures of summaries and comparisons, from real storage dirs: what each figure shows
(titles, labels, axes, legends, resample counts) and which files the comparisons write.

The figure objects come from the ``draw_*`` functions the summary and comparisons save, fed
with scores computed from synthetic recorders (tests/test_results.py's ``make_search``).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from test_results import curve, make_search

from alfred.results import comparison, comparison_figures, figures
from alfred.results.labels import differing_labels, storage_heading
from alfred.results.scoring import compute_search_scores, curve_bands
from alfred.results.settings import resolve_settings
from alfred.utils import plots

plt.switch_backend("Agg")
N = 200  # bootstrap resamples: small, the figures only print the count


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def demo_like(root: Path, *, name: str = "Te1_nogit_algA_taskA_grid_syn", task: str = "taskA",
              shift: float = 0.0) -> Path:
    """6 experiments (learning_rate 0.03/0.3/1 x hidden_size 4/16), 3 seeds, scores 0.90-0.985."""
    means = [0.9022, 0.9239, 0.945, 0.9572, 0.9839, 0.985]
    params = {e: {"learning_rate": lr, "hidden_size": h}
              for e, (lr, h) in enumerate(((lr, h) for lr in (0.03, 0.3, 1.0) for h in (4, 16)), start=1)}
    offsets = (-0.004, 0.0, 0.004)
    exps = {e: {s: curve([0.5, 0.8, means[e - 1] + shift + offsets[s - 1]]) for s in (1, 2, 3)} for e in params}
    return make_search(root, exps, name=name, params=params, task=task)


def scores_of(storage: Path, **overrides):
    settings = resolve_settings(storage, {"y_metric": "score", **overrides})
    return settings, compute_search_scores(storage, settings, n_resamples=N, seed=0)


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


# ----------------------------------------------------------------------------- the summary's figures


def test_performance_figure_zoomed_titled_and_counted(tmp_path):
    storage = demo_like(tmp_path)
    _, scores = scores_of(storage)
    fig = figures.draw_bar_figure(scores, n_resamples=N)
    ax = fig.axes[0]
    assert plots.heading_lines(fig)[:2] == ["algA · taskA · grid_syn", storage.name]
    p_best = scores.p_best[scores.experiments.index(6)]  # computed by the scoring, shown in the subtitle
    assert plots.heading_lines(fig)[2] == f"higher is better; best: exp6; P(best) {p_best:.2f}"
    lo, hi = ax.get_xlim()
    assert 0.85 < lo < 0.90 and 0.985 < hi < 1.0
    assert f"({N} resamples)" in ax.get_xlabel()
    assert ax.get_yticklabels()[0].get_text() == "exp6: learning_rate=1, hidden_size=16 (n=3)"
    seeds = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets()) == 18]
    assert len(seeds) == 1  # every seed's score drawn under its experiment


def test_performance_figure_shows_p_best_only_when_computed(tmp_path):
    _, scores = scores_of(demo_like(tmp_path))
    scores.p_best = np.array([0.62 if e == 6 else 0.38 if e == 5 else 0.0 for e in scores.experiments])
    assert plots.heading_lines(figures.draw_bar_figure(scores, n_resamples=N))[2] == \
        "higher is better; best: exp6; P(best) 0.62"
    scores.p_best = np.zeros(0)  # not computed (e.g. 10th_quantile error bars): nothing said
    assert plots.heading_lines(figures.draw_bar_figure(scores, n_resamples=N))[2] == "higher is better; best: exp6"


def test_resample_count_is_read_from_the_estimates(tmp_path):
    storage = demo_like(tmp_path)
    settings, scores = scores_of(storage)
    bands = curve_bands(storage, settings, [6, 5], n_resamples=N, seed=0)
    bands[0].n_resamples = 777  # estimates that carry their count win over the one passed
    fig = figures.draw_curve_figure(scores, bands, n_resamples=N)
    assert "(777 resamples)" in plots.heading_lines(fig)[2]
    fig = figures.draw_curve_figure(scores, bands[1:], n_resamples=N)
    assert f"({N} resamples)" in plots.heading_lines(fig)[2]


def test_retrain_of_an_unrecorded_search_has_one_row_and_no_empty_legend_entry(tmp_path):
    from alfred.results.retrain_view import draw_retrain_figure

    storage = make_search(tmp_path, {1: {s: curve([0.9, 0.98 + 0.001 * s]) for s in range(4, 9)}},
                          name="Te3_nogit_algA_taskA_retrainBest_grid_syn", kind_flag="RETRAIN_BEST")
    _, scores = scores_of(storage)
    fig = draw_retrain_figure(scores, None, n_resamples=N)  # made by an earlier alfred: no retrain_of
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["retrain (n=5)"]
    assert "retrain (its search is not recorded)" in plots.heading_lines(fig)[2]
    assert _legend_texts(ax) == []
    assert plots.heading_lines(fig)[0] == "algA · taskA · retrainBest_grid_syn"


def test_single_seed_experiments_get_no_interval(tmp_path):
    storage = make_search(tmp_path, {1: {1: curve([0.9])}, 2: {1: curve([0.8]), 2: curve([0.7])}})
    _, scores = scores_of(storage)
    fig = figures.draw_bar_figure(scores, n_resamples=N)
    assert fig.axes[-1].get_yticklabels()[0].get_text().endswith("(no interval)")


def test_sensitivity_figure_log_axis_coloured_by_the_other_hyperparameter(tmp_path):
    _, scores = scores_of(demo_like(tmp_path))
    fig = figures.draw_sensitivity_figure(scores, n_resamples=N)
    lr_ax, hidden_ax = [ax for ax in fig.axes if ax.get_visible()]
    assert lr_ax.get_xlabel() == "learning_rate" and lr_ax.get_xscale() == "log"
    assert _legend_texts(lr_ax) == ["hidden_size:", "4", "16"]
    assert _legend_texts(hidden_ax) == ["learning_rate:", "0.03", "0.3", "1"]
    assert plots.heading_lines(fig)[0] == "algA · taskA · grid_syn"


def test_explained_share():
    scores = np.array([1.0, 1.0, 3.0, 3.0])
    assert figures.explained_share(scores, ["a", "a", "b", "b"]) == pytest.approx(1.0)
    assert figures.explained_share(scores, ["a", "b", "a", "b"]) == pytest.approx(0.0)
    assert figures.explained_share(np.array([1.0, np.nan, 3.0]), [1, 2, 3]) == pytest.approx(1.0)


def test_identical_experiments_are_told_apart(tmp_path):
    same = {s: curve([0.2, 0.6, 0.9 + 0.01 * s]) for s in (1, 2)}
    storage = make_search(tmp_path, {3: same, 5: {s: curve([0.1, 0.3, 0.5 + 0.01 * s]) for s in (1, 2)},
                                     7: dict(same)})
    settings, scores = scores_of(storage)
    bands = curve_bands(storage, settings, [3, 7, 5], n_resamples=N, seed=0)
    fig = figures.draw_curve_figure(scores, bands, n_resamples=N)
    ax = fig.axes[0]
    notes = [t.get_text() for t in ax.texts]
    assert len(notes) == 1 and "#1 exp3" in notes[0] and "#2 exp7" in notes[0]
    assert [line.get_linestyle() for line in ax.get_lines()][:3] == ["-", "--", "-"]


def test_many_experiments_summarised_by_a_band(tmp_path):
    rng = np.random.default_rng(0)
    storage = make_search(tmp_path, {e: {s: curve(rng.uniform(0, 1, 5)) for s in (1, 2)} for e in range(1, 61)})
    settings, scores = scores_of(storage)
    top = [scores.experiments[i] for i in scores.order[:10]]
    fig = figures.draw_curve_figure(scores, curve_bands(storage, settings, top, n_resamples=N, seed=0),
                                    n_resamples=N)
    texts = _legend_texts(fig.axes[0])
    assert texts[0] == "50 other experiments: median and 10-90% of their means" and len(texts) == 11
    assert "top 10 of 60 experiments" in plots.heading_lines(fig)[3]


# ----------------------------------------------------------------------------- comparisons


def test_labels_carry_what_differs(tmp_path):
    a = demo_like(tmp_path, name="Te1_nogit_algA_taskA_grid_syn")
    b = demo_like(tmp_path, name="Te2_nogit_algA_taskB_grid_syn", task="taskB")
    c = demo_like(tmp_path, name="Te3_nogit_algB_taskB_grid_syn", task="taskB")
    assert differing_labels([a, b]) == (["taskA", "taskB"], "algA · grid_syn")
    assert differing_labels([a, c]) == (["algA · taskA", "algB · taskB"], "grid_syn")
    d = demo_like(tmp_path, name="Te4_nogit_algA_taskA_grid_syn")
    assert differing_labels([a, d]) == (["Te1", "Te4"], "algA · taskA · grid_syn")
    assert storage_heading(a) == ("algA · taskA · grid_syn", a.name)


def test_compare_searches_over_two_tasks(tmp_path):
    a = demo_like(tmp_path)
    b = demo_like(tmp_path, name="Te2_nogit_algA_taskB_grid_syn", task="taskB", shift=-0.02)
    out = tmp_path / "benchmark_x"
    comparison.compare_searches([a, b], out, {"y_metric": "score"}, n_resamples=N)
    record = json.loads((out / "compare_searches.json").read_text())
    assert record["labels"] == {a.name: "taskA", b.name: "taskB"}
    assert (out / "compare_searches_score.png").stat().st_size > 0
    settings, scores_a = scores_of(a)
    fig = comparison_figures.draw_searches_figure({"taskA": scores_a.point}, settings, heading="algA · grid_syn",
                                                  small=a.name)
    assert fig.axes[0].get_xticklabels()[0].get_text() == "taskA\n(n=6)"


def test_model_aggregates_clear_winner():
    rng = np.random.default_rng(0)
    runs = {"good": {"t1": rng.normal(0.9, 0.01, 10), "t2": rng.normal(90, 1, 10)},
            "bad": {"t1": rng.normal(0.5, 0.01, 10), "t2": rng.normal(50, 1, 10)}}
    agg = comparison.model_aggregates(runs, lower_is_better=False, n_resamples=N, seed=0)
    assert agg["normalised"] and agg["tasks"] == ["t1", "t2"]
    good, bad = agg["aggregates"]["good"]["iqm"], agg["aggregates"]["bad"]["iqm"]
    assert bad.upper < good.lower and 0.0 <= bad.lower and good.upper <= 1.0
    (pair, poi), = agg["improvement"].items()
    assert pair == ("good", "bad") and poi.point == pytest.approx(1.0)
    flipped = comparison.model_aggregates(runs, lower_is_better=True, n_resamples=N, seed=0)
    assert flipped["improvement"][("good", "bad")].point == pytest.approx(0.0)
    figs = comparison_figures.draw_aggregate_figures(agg, _settings(), heading="h", small="s")
    assert set(figs) == {"aggregates", "profiles", "improvement"}
    assert f"({N} resamples)" in plots.heading_lines(figs["aggregates"])[2]


def _settings():
    """Settings of a search without storage dir: what the aggregate figures read."""
    from alfred.results.settings import ResultsSettings

    return ResultsSettings(x_metric="step", y_metric="score", performance_metric="score",
                           performance_aggregation="last", y_error_bars="bootstrapped_CI", lower_is_better=False)


def test_compare_models_two_algorithms_writes_rliable_figures(tmp_path):
    dirs = [demo_like(tmp_path, name=f"Te{i}_nogit_{alg}_{task}_grid_syn", task=task, shift=shift)
            for i, (alg, task, shift) in enumerate((("algA", "taskA", 0.0), ("algA", "taskB", 0.0),
                                                     ("algB", "taskA", -0.05), ("algB", "taskB", -0.05)), start=1)]
    out = tmp_path / "benchmark_models"
    comparison.compare_models(dirs, out, {"y_metric": "score"}, n_resamples=N)
    record = json.loads((out / "compare_models.json").read_text())
    assert {m["algorithm"] for m in record["models"].values()} == {"algA", "algB"}
    agg = record["aggregates"]
    assert agg["tasks"] == ["taskA", "taskB"] and agg["n_resamples"] == N
    (poi,) = agg["probability_of_improvement"]
    assert (poi["x"], poi["y"]) == ("algA", "algB") and poi["estimate"][0] == pytest.approx(1.0)
    for kind in ("compare_models", "compare_models_aggregates", "compare_models_profiles",
                 "compare_models_improvement"):
        assert (out / f"{kind}_score.png").stat().st_size > 0


def test_compare_models_one_algorithm_has_no_aggregate_figures(tmp_path):
    a = demo_like(tmp_path)
    b = demo_like(tmp_path, name="Te2_nogit_algA_taskB_grid_syn", task="taskB")
    out = tmp_path / "benchmark_one"
    comparison.compare_models([a, b], out, {"y_metric": "score"}, n_resamples=N)
    assert "aggregates" not in json.loads((out / "compare_models.json").read_text())
    assert sorted(p.name for p in out.glob("*.png")) == ["compare_models_score.png"]


def test_model_aggregates_need_a_shared_task():
    runs = {"a": {"t1": np.array([1.0, 2.0])}, "b": {"t2": np.array([1.0, 2.0])}}
    assert comparison.model_aggregates(runs, lower_is_better=False, n_resamples=N, seed=0) is None
    runs = {"a": {"t1": np.array([1.0, 2.0]), "t2": np.array([np.nan])}, "b": {"t1": np.array([0.5]),
                                                                              "t2": np.array([3.0])}}
    agg = comparison.model_aggregates(runs, lower_is_better=False, n_resamples=N, seed=0)
    assert agg["tasks"] == ["t1"] and not agg["normalised"]  # t2 has no scored run of a
