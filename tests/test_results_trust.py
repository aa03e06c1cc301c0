"""Conclusions a reader can trust: comparisons never mix metrics or directions and are redone
when their settings change, touching intervals overlap, intervals of equal seeds and scores
coarser than the best's lead are said for what they are, a retrain is told apart from a search,
and experiments that no seed scored are named."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_results import curve, make_search

from alfred.benchmark import main as benchmark_main
from alfred.protocol.layout import SUMMARY_DIR
from alfred.results.scoring import SearchScores, compute_search_scores, score_resolution
from alfred.results.settings import ResultsSettings, resolve_settings
from alfred.results.summary import summarize_search

N = 300  # resamples: enough for stable bounds, quick


def two_metrics(values: dict[str, list[float]]) -> dict:
    n = len(next(iter(values.values())))
    return {"step": list(range(n)), **values}


def with_results(storage: Path, **results) -> Path:
    info = json.loads((storage / "prepare_info.json").read_text())
    info["results"] = results
    (storage / "prepare_info.json").write_text(json.dumps(info))
    return storage


def accuracy_and_loss_searches(root: Path) -> tuple[Path, Path]:
    """A grid search ranked on val_accuracy and a random search ranked on val_loss, of two
    algorithms on one task; 'grid' is better on both metrics (higher accuracy, lower loss)."""
    rng = np.random.default_rng(0)

    def exps(acc: float) -> dict:
        return {e: {s: two_metrics({"val_accuracy": [0.5, acc - 0.01 * e + 0.002 * rng.standard_normal()],
                                    "val_loss": [2.0, 1.0 - acc + 0.01 * e + 0.002 * rng.standard_normal()]})
                    for s in (1, 2, 3)} for e in (1, 2, 3)}

    grid = with_results(make_search(root, exps(0.9), name="Te1_nogit_grid_taskA_grid_acc"),
                        performance_metric="val_accuracy", y_metric="val_accuracy")
    rand = with_results(make_search(root, exps(0.8), name="Te2_nogit_random_taskA_random_loss"),
                        performance_metric="val_loss", y_metric="val_loss")
    return grid, rand


def bench(capsys, root: Path, *args: str) -> tuple[int, str, str]:
    code = benchmark_main(["--root_dir", str(root), "--n_resamples", str(N), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


# ----------------------------------------------------------------------------- 1. no mixed metrics
@pytest.mark.parametrize("kind", ["compare_searches", "compare_models"])
def test_comparisons_refuse_mixed_metrics_and_directions_in_one_line(tmp_path, capsys, kind):
    grid, rand = accuracy_and_loss_searches(tmp_path)
    code, out, err = bench(capsys, tmp_path, "--storage_names", grid.name, rand.name, "--benchmark_type", kind)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (out, err)
    assert "val_accuracy" in err and "val_loss" in err and "--performance_metric" in err
    assert "higher is better" in err and "lower is better" in err
    assert not list(tmp_path.glob("benchmark_*/*.json"))  # nothing half-written


def test_a_flag_that_unifies_the_metric_gives_the_right_winner(tmp_path, capsys):
    grid, rand = accuracy_and_loss_searches(tmp_path)
    code, out, err = bench(capsys, tmp_path, "--storage_names", grid.name, rand.name, "--benchmark_type",
                           "compare_models", "--performance_metric", "val_loss", "--y_metric", "val_loss")
    assert code == 0, err
    record = json.loads(next(tmp_path.glob("benchmark_*/compare_models.json")).read_text())
    assert record["settings"]["performance_metric"] == "val_loss" and record["settings"]["lower_is_better"] is True
    (poi,) = record["aggregates"]["probability_of_improvement"]
    assert poi["x"].startswith("grid") and poi["y"].startswith("random")
    assert poi["estimate"][0] == pytest.approx(1.0)  # ranked on val_loss, lower is better: grid wins


def test_compare_searches_axis_names_the_one_metric_and_direction(tmp_path):
    from alfred.results import comparison, comparison_figures

    grid, rand = accuracy_and_loss_searches(tmp_path)
    out = tmp_path / "benchmark_x"
    comparison.compare_searches([grid, rand], out, {"performance_metric": "val_loss"}, n_resamples=N)
    record = json.loads((out / "compare_searches.json").read_text())
    assert record["settings"]["performance_metric"] == "val_loss" and record["settings"]["lower_is_better"]
    settings = comparison.shared_settings([grid, rand], {"performance_metric": "val_loss"}, "compare_searches")
    fig = comparison_figures.draw_searches_figure({"a": np.array([0.1, 0.2])}, settings, heading="h",
                                                             small="s")
    from alfred.utils import plots

    assert "val_loss" in fig.axes[0].get_ylabel() and "lower is better" in plots.heading_lines(fig)[-1]


# ----------------------------------------------------------------------------- 2. caches keep their settings
def test_a_comparison_is_redone_when_its_settings_change(tmp_path, capsys):
    grid, rand = accuracy_and_loss_searches(tmp_path)
    names = ["--storage_names", grid.name, rand.name, "--benchmark_type", "compare_searches"]
    code, out, _ = bench(capsys, tmp_path, *names, "--performance_metric", "val_loss")
    assert code == 0 and "wrote" in out
    code, out, _ = bench(capsys, tmp_path, *names, "--performance_metric", "val_accuracy")
    assert code == 0 and "was made with performance_metric 'val_loss' (now 'val_accuracy')" in out
    assert "redoing it" in out and "kept existing" not in out
    record = json.loads(next(tmp_path.glob("benchmark_*/compare_searches.json")).read_text())
    assert record["settings"]["performance_metric"] == "val_accuracy"
    assert record["settings"]["lower_is_better"] is False
    code, out, _ = bench(capsys, tmp_path, *names, "--performance_metric", "val_accuracy")
    assert code == 0 and "kept existing" in out


def test_a_models_comparison_is_redone_for_another_resample_count(tmp_path, capsys):
    a = make_search(tmp_path, {1: {s: curve([0.1, 0.5 + 0.01 * s]) for s in (1, 2, 3)}},
                    name="Te1_nogit_algA_taskA_retrainBest_x")
    b = make_search(tmp_path, {1: {s: curve([0.1, 0.4 + 0.01 * s]) for s in (1, 2, 3)}},
                    name="Te2_nogit_algB_taskA_retrainBest_x")
    names = ["--storage_names", a.name, b.name, "--benchmark_type", "compare_models", "--y_metric", "score"]
    assert bench(capsys, tmp_path, *names)[0] == 0
    code, out, _ = bench(capsys, tmp_path, *names, "--seed", "1")
    assert code == 0 and "was made with seed 0 (now 1)" in out
    code, out, _ = bench(capsys, tmp_path, *names, "--seed", "1")
    assert "kept existing" in out


# ----------------------------------------------------------------------------- 3. overlap, equal seeds, resolution
def _scores(point, lower, upper) -> SearchScores:
    n = len(point)
    settings = ResultsSettings(x_metric="step", y_metric="score")
    return SearchScores(Path("x"), settings, list(range(1, n + 1)), {e: {} for e in range(1, n + 1)},
                        {e: {1: point[e - 1], 2: point[e - 1]} for e in range(1, n + 1)}, np.array(point),
                        np.array(lower), np.array(upper), {}, None, np.arange(n))


def test_touching_intervals_overlap_whatever_their_last_bits():
    touching = _scores([0.99, 0.96], [0.970000000152, 0.95], [0.995, 0.9700000000000001])
    assert touching.overlapping() == [2]
    crossing = _scores([0.99, 0.96], [0.97, 0.95], [0.995, 0.9700000001])
    assert crossing.overlapping() == [2]
    apart = _scores([0.99, 0.96], [0.97, 0.95], [0.995, 0.9699])
    assert apart.overlapping() == []


def test_equal_seeds_are_said_as_such_not_as_a_certain_interval(tmp_path):
    exps = {1: {s: curve([0.5, 0.985]) for s in (1, 2, 3)},  # three equal seeds: [0.985, 0.985]
            2: {s: curve([0.5, 0.90 + 0.01 * s]) for s in (1, 2, 3)}}
    storage = make_search(tmp_path, exps)
    summary = summarize_search(storage, n_resamples=N)
    text = (storage / SUMMARY_DIR / "summary.txt").read_text()
    assert summary["best_all_seeds_equal"] and summary["ranking"][0]["all_seeds_equal"]
    assert "best: experiment1 with 0.985 (all 3 seeds equal)" in text
    assert "shows no spread seen, not certainty" in summary["confidence"]
    assert "[0.985, 0.985]" not in text
    from alfred.results import figures

    fig = figures.draw_bar_figure(compute_search_scores(storage, resolve_settings(storage, {}), n_resamples=N))
    values = [t.get_text() for t in fig.axes[-1].get_yticklabels()]
    assert values[0] == "0.9850 (all 3 seeds equal)" and "[" in values[1]


def test_a_lead_smaller_than_one_step_of_the_scores_is_low_confidence(tmp_path):
    """Accuracies on 300 examples: the best leads by 0.8 of one example, its interval clear of the runner-up's."""
    seeds = {1: [271, 271, 271, 271, 272], 2: [270, 271, 270, 271, 270], 3: [250, 252, 251, 250, 253],
             4: [240, 241, 240, 242, 240]}
    exps = {e: {s: curve([0.5, k / 300]) for s, k in enumerate(v, start=1)} for e, v in seeds.items()}
    storage = make_search(tmp_path, exps)
    summary = summarize_search(storage, n_resamples=2000)
    assert summary["overlapping_experiments"] == [] and summary["p_best"] > 0.8  # what used to read "high"
    assert summary["score_resolution"] == pytest.approx(1 / 300)
    assert summary["confidence"].startswith("low: the best leads experiment2 by 0.002667, less than one step "
                                            "(0.003333) of the seed scores")
    assert "evaluate on more examples" in summary["next_step"]


def test_score_resolution_needs_repeats_on_a_grid():
    assert score_resolution(np.array([0.5, 0.51, 0.52, 0.51, 0.53])) == pytest.approx(0.01)
    assert score_resolution(np.array([0.0, 0.015, 0.03, 0.015, 0.06])) == pytest.approx(0.015)
    assert score_resolution(np.array([0.0, 0.02, 0.05, 0.05])) == pytest.approx(0.01)  # gcd of the gaps
    assert score_resolution(np.random.default_rng(0).uniform(size=50)) is None  # continuous: no repeat
    assert score_resolution(np.array([0.1, 0.2, 0.3])) is None  # too few to tell


# ----------------------------------------------------------------------------- 4. retrains
def retrained(root: Path, *, search_scores=(0.86, 0.855, 0.853), retrain_scores=(0.85, 0.849, 0.848, 0.851, 0.847)):
    params = {1: {"lr": 0.01, "n_steps": 100}, 2: {"lr": 0.1, "n_steps": 100}}
    search = make_search(root, {1: {s: curve([0.5, v]) for s, v in enumerate(search_scores, start=1)},
                                2: {s: curve([0.5, 0.7 + 0.01 * s]) for s in (1, 2, 3)}},
                         name="Te1_nogit_algA_taskA_grid_x", params=params)
    retrain = make_search(root, {1: {s: curve([0.5, v]) for s, v in enumerate(retrain_scores, start=4)}},
                          name="Te2_nogit_algA_taskA_retrainBest_grid_x", kind_flag="RETRAIN_BEST",
                          params={1: {"lr": 0.01, "n_steps": 200}})
    info = json.loads((retrain / "prepare_info.json").read_text())
    info.update(retrain_of=search.name, best_experiment=1)
    (retrain / "prepare_info.json").write_text(json.dumps(info))
    return search, retrain


def test_a_retrain_is_summarised_beside_the_search_estimate_not_ranked(tmp_path, capsys):
    search, retrain = retrained(tmp_path)
    summarize_search(search, n_resamples=N)
    summary = summarize_search(retrain, n_resamples=N)
    assert summary["kind"] == "retrain" and summary["p_best"] is None and summary["p_best_top"] == []
    line = summary["confidence"]
    assert line.startswith("retrain: search exp1 0.856 [") and "] (3 seeds) → retrain 0.849 [" in line
    assert "(5 seeds): 0.007 worse than the search's estimate (with n_steps 100 -> 200)" in line
    assert "high" not in line and "retrain the best" not in summary["next_step"]
    assert "winner's curse" in summary["next_step"]
    text = (retrain / SUMMARY_DIR / "summary.txt").read_text()
    assert text.startswith(f"summary of {retrain.name}: the retrain of experiment1 of {search.name}")
    assert 'config: {"alg_name": "algA", "lr": 0.01, "n_steps": 200' in text and "confidence:" not in text
    code = benchmark_main(["--storage_names", retrain.name, "--root_dir", str(tmp_path), "--n_resamples", str(N)])
    assert code == 0 and f"{retrain.name}: retrain: search exp1 0.856" in capsys.readouterr().out


def test_the_retrain_figure_shows_both_estimates_and_the_configuration(tmp_path):
    from alfred.results.retrain_view import draw_retrain_figure, search_estimate
    from alfred.utils import plots

    search, retrain = retrained(tmp_path)
    settings = resolve_settings(retrain, {})
    scores = compute_search_scores(retrain, settings, n_resamples=N)
    estimate = search_estimate(retrain, settings, n_resamples=N, seed=0, retrain_config=scores.configs[1])
    assert estimate["source"] == "computed with this summary's settings"  # the search has no summary yet
    fig = draw_retrain_figure(scores, estimate)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["search: exp1 (n=3)", "retrain (n=5)"]
    lo, hi = ax.get_xlim()
    assert lo < 0.847 and hi > 0.86  # both estimates on one axis: the shrinkage shows
    lines = plots.heading_lines(fig)
    assert any("lr=0.01, n_steps=200" in ln for ln in lines) and any("n_steps 100 → 200" in ln for ln in lines)
    assert any(f"retrain of experiment1 of {search.name}" in ln for ln in lines)


# ----------------------------------------------------------------------------- 10. unscored experiments
def test_experiments_no_seed_scored_are_named_beside_the_confidence(tmp_path, capsys):
    exps = {1: {s: curve([0.1, 0.5 + 0.01 * s]) for s in (1, 2)}, 2: {s: curve([0.1, 0.9 + 0.01 * s]) for s in (1, 2)},
            3: {1: "crash", 2: "crash"}, 4: {s: curve([0.1, 0.2 + 0.01 * s]) for s in (1, 2)}, 5: {1: "crash"}}
    storage = make_search(tmp_path, exps)
    summary = summarize_search(storage, n_resamples=N)
    assert summary["unscored_experiments"] == {"3": "2 crashed", "5": "1 crashed"}
    assert summary["confidence"].startswith("high among the 3 scored experiments")
    assert "2 of 5 experiments were not scored, no seed of theirs completed (experiment3: 2 crashed, experiment5: " \
           "1 crashed)" in summary["confidence"]
    code = benchmark_main(["--storage_names", storage.name, "--root_dir", str(tmp_path), "--n_resamples", str(N)])
    assert code == 0 and "2 of 5 experiments were not scored" in capsys.readouterr().out
    from alfred.results.summary import summary_headline

    assert summary_headline(summary, short=True) == ("best experiment2 (high confidence; 2 experiments not scored, "
                                                     "no seed of theirs completed)")


def test_a_search_where_every_seed_crashed_says_so(tmp_path, capsys):
    storage = make_search(tmp_path, {1: {1: "crash", 2: "crash"}, 2: {1: "crash"}})
    code = benchmark_main(["--storage_names", storage.name, "--root_dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == (f"error: no seed of {storage.name} completed (3 crashed): nothing to "
                                         f"summarise; python -m alfred.status --storage_name {storage.name} "
                                         "--crashes lists the crashes")
