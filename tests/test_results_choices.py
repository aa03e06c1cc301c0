"""What a summary says: the direction it used, how sure it is (no interval for one seed,
P(best)), and what to do next -- each checked on real files against a known answer."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_results import curve, make_search, run_module

from alfred.protocol.layout import SUMMARY_DIR
from alfred.results.settings import infer_direction


def loss_curve(values) -> dict:
    values = list(values)
    return {"step": list(range(len(values))), "loss": values}


def summary_of(storage, **kw) -> tuple[dict, str]:
    from alfred.results.summary import summarize_search

    summary = summarize_search(storage, n_resamples=2000, **kw)
    return summary, (storage / SUMMARY_DIR / "summary.txt").read_text()


# ----------------------------------------------------------------------------- direction
@pytest.mark.parametrize("name, lower, how", [
    ("loss", True, "inferred"), ("val_loss", True, "inferred"), ("test_error", True, "inferred"),
    ("mse", True, "inferred"), ("MSE", True, "inferred"), ("testError", True, "inferred"),
    ("ValLoss", True, "inferred"), ("NLLLoss", True, "inferred"), ("train.nll", True, "inferred"),
    ("regret", True, "inferred"), ("perplexity", True, "inferred"), ("neg_log_likelihood", True, "inferred"),
    ("eval_return", False, "inferred"), ("accuracy", False, "inferred"), ("val_accuracy", False, "inferred"),
    ("testAcc", False, "inferred"), ("f1", False, "inferred"), ("neg_mse", False, "inferred"),
    ("glossary", False, "assumed"), ("errorless", False, "assumed"), ("episode_length", False, "assumed"),
    ("time", False, "assumed"), ("costume", False, "assumed"), ("score", False, "assumed"),
])
def test_direction_inferred_from_whole_words_of_the_name(name, lower, how):
    inferred, note = infer_direction(name, None)
    assert inferred is lower
    assert note.startswith(f"{'lower' if lower else 'higher'} {name} is better: {how}")
    assert infer_direction(name, not lower) == (not lower, "")  # set explicitly: obeyed, nothing said


def test_loss_only_recorder_picks_the_lowest_loss_and_says_it_inferred_that(tmp_path):
    finals = {1: 0.9, 2: 0.1, 3: 0.5}
    storage = make_search(tmp_path, {e: {s: loss_curve([2.0, v + 0.01 * s]) for s in (1, 2, 3)}
                                     for e, v in finals.items()})
    summary, text = summary_of(storage)  # y_metric: the one metric besides step
    assert summary["settings"]["lower_is_better"] is True
    assert summary["best_experiment"] == 2 and [r["experiment"] for r in summary["ranking"]] == [2, 3, 1]
    assert summary["best_score"] == pytest.approx(0.12)
    assert "inferred from 'loss'" in summary["direction_note"]
    first = text.splitlines()[0]
    assert first.startswith(f"summary of {storage.name}") and "lower loss is better: inferred" in first
    # set explicitly, it is obeyed and nothing is said about it
    summary, text = summary_of(storage, lower_is_better=False)
    assert summary["best_experiment"] == 1 and summary["direction_note"] is None
    assert "inferred" not in text and "assumed" not in text
    # the retrain picks the same experiment as the summary
    from alfred.results.scoring import select_best

    assert select_best(storage, {})[0] == 2


def test_an_unset_direction_is_stated_in_the_first_line(tmp_path):
    storage = make_search(tmp_path, {e: {s: curve([0.0, e + 0.1 * s]) for s in (1, 2)} for e in (1, 2)})
    summary, text = summary_of(storage)
    assert summary["best_experiment"] == 2
    assert "higher score is better: assumed" in text.splitlines()[0]
    r = run_module("alfred.benchmark", "--storage_names", storage.name, "--root_dir", str(tmp_path),
                   "--re_run_if_exists", "--n_resamples", "200", cwd=tmp_path)
    assert r.returncode == 0 and "higher score is better: assumed" in r.stdout, r.stdout + r.stderr


# ----------------------------------------------------------------------------- one seed: cannot tell
@pytest.mark.parametrize("bars", ["bootstrapped_CI", "stderr", "10th_quantile"])
def test_one_seed_per_experiment_gets_no_interval_and_cannot_tell(tmp_path, bars):
    storage = make_search(tmp_path, {e: {1: curve([0.0, v])} for e, v in {1: 0.3, 2: 0.8, 3: 0.5}.items()})
    summary, text = summary_of(storage, y_metric="score", y_error_bars=bars)
    assert summary["best_experiment"] == 2 and summary["best_score"] == 0.8
    assert summary["confidence"].startswith("cannot tell: n=1")
    assert all(math.isnan(r["lower"]) and math.isnan(r["upper"]) for r in summary["ranking"])
    assert all(r["n_seeds"] == 1 and r["p_best"] is None for r in summary["ranking"])
    assert summary["p_best"] is None and summary["p_best_top"] == []
    assert summary["single_seed_experiments"] == [2, 3, 1]
    assert "best: experiment2 with 0.8 (cannot tell: n=1)" in text and "confidence: cannot tell: n=1" in text
    assert "run at least 2" in summary["next_step"]


def test_single_seed_experiments_beside_real_ones_cannot_be_compared(tmp_path):
    exps = {1: {s: curve([0.0, 0.5 + 0.01 * s]) for s in (1, 2, 3)}, 2: {1: curve([0.0, 0.9])},
            3: {s: curve([0.0, 0.1 + 0.01 * s]) for s in (1, 2, 3)}}
    summary, text = summary_of(make_search(tmp_path, exps), y_metric="score")
    # exp2 has the best single number but one seed: it ranks first and nothing can be said of it
    assert summary["best_experiment"] == 2 and summary["confidence"].startswith("cannot tell: n=1")
    rows = {r["experiment"]: r for r in summary["ranking"]}
    assert math.isnan(rows[2]["lower"]) and rows[1]["lower"] < rows[1]["score"] < rows[1]["upper"]
    assert summary["p_best"] is None  # undefined for the chosen one
    assert summary["p_best_top"] == [{"experiment": 1, "p_best": 1.0}]  # exp1 always beats exp3
    assert "cannot tell: n=1" in text.splitlines()[2]


# ----------------------------------------------------------------------------- P(best)
def test_p_best_of_a_clear_winner(tmp_path):
    rng = np.random.default_rng(3)
    means = {e: rng.uniform(0.0, 0.5) for e in range(1, 13)}
    means[7] = 0.9
    storage = make_search(tmp_path, {e: {s: curve([0.0, m + 0.05 * rng.standard_normal()]) for s in (1, 2, 3)}
                                     for e, m in means.items()})
    summary, text = summary_of(storage, y_metric="score")
    assert summary["best_experiment"] == 7 and summary["p_best"] > 0.95
    assert summary["p_best_top"][0] == {"experiment": 7, "p_best": summary["p_best"]}
    assert sum(r["p_best"] for r in summary["ranking"]) == pytest.approx(1.0)
    assert "P(best): " in text and "over 2000 resamples" in text
    assert "not the probability that it is truly the best" in text


@pytest.mark.parametrize("k", [3, 6])
def test_p_best_of_identical_experiments_is_one_over_k(tmp_path, k):
    seeds = {1: 0.2, 2: 0.5, 3: 0.9}
    storage = make_search(tmp_path, {e: {s: curve([0.0, v]) for s, v in seeds.items()} for e in range(1, k + 1)})
    summary, text = summary_of(storage, y_metric="score")
    shares = [r["p_best"] for r in summary["ranking"]]
    tolerance = 5 * math.sqrt((1 / k) * (1 - 1 / k) / 2000)  # Monte-Carlo error at 2000 resamples
    np.testing.assert_allclose(shares, 1 / k, atol=tolerance)
    assert summary["confidence"].startswith(f"low: {k - 1} of {k - 1} other experiment(s) cannot be told apart")
    assert summary["next_step"].startswith(f"run more seeds of the {k} experiment(s) with P(best) >= 1%")


def test_a_large_search_of_lookalikes_says_what_to_do(tmp_path):
    """Many experiments within noise of each other: not just 'N of N overlap', but how many
    are indistinguishable, P(best) of the top ones, and which ones to give more seeds."""
    rng = np.random.default_rng(5)
    exps = {e: {s: curve([0.0, 0.5 + 0.003 * e / 60 + 0.05 * rng.standard_normal()]) for s in (1, 2, 3)}
            for e in range(1, 61)}
    storage = make_search(tmp_path, exps)
    summary, text = summary_of(storage, y_metric="score")
    n_overlap = len(summary["overlapping_experiments"])
    assert n_overlap >= 20 and summary["confidence"].startswith(f"low: {n_overlap} of 59 other experiment(s)")
    assert len(summary["p_best_top"]) == 5 and summary["p_best"] < 0.5
    contenders = [r["experiment"] for r in summary["ranking"] if (r["p_best"] or 0) >= 0.01]
    assert summary["next_step"].startswith(f"run more seeds of the {len(contenders)} experiment(s) with P(best)")
    lines = text.splitlines()
    assert lines[5].startswith("P(best): ") and f"{len(contenders)} experiment(s) have P(best) >= 1%" in lines[5]
    assert lines[6] == f"next: {summary['next_step']}"


def test_every_label_states_the_resample_count_used(tmp_path):
    storage = make_search(tmp_path, {e: {s: curve([0.0, e + 0.1 * s]) for s in (1, 2, 3)} for e in (1, 2)})
    summary, text = summary_of(storage, y_metric="score")
    assert summary["n_resamples"] == 2000 and "(2000 resamples)" in summary["interval"]
    assert "2000 resamples" in text and "10000" not in text


# ----------------------------------------------------------------------------- reruns say what they did
def test_benchmark_says_whether_it_wrote_or_kept_the_summary(tmp_path):
    from alfred.protocol.layout import COMPLETED
    from alfred.utils.directory_tree import DirectoryTree
    from alfred.utils.recorder import Recorder

    storage = make_search(tmp_path, {e: {s: curve([0.0, e + 0.1 * s]) for s in (1, 2)} for e in (1, 2)})
    args = ["--storage_names", storage.name, "--root_dir", str(tmp_path), "--n_resamples", "200"]
    r = run_module("alfred.benchmark", *args, cwd=tmp_path)
    assert r.returncode == 0 and f"  wrote {storage / SUMMARY_DIR}" in r.stdout, r.stdout + r.stderr
    r = run_module("alfred.benchmark", *args, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == f"  kept existing {storage / SUMMARY_DIR}"
    tree = DirectoryTree.from_parts(tmp_path, storage.name, 1, 3)  # a seed completes after the summary
    tree.seed_dir.mkdir()
    tree.create_directories()
    recorder = Recorder(["step", "score"])
    recorder.write_to_tape({"step": 0, "score": 9.0})
    recorder.save(tree.recorders_dir / "train_recorder.jsonl")
    (tree.seed_dir / COMPLETED).touch()
    r = run_module("alfred.benchmark", *args, cwd=tmp_path)
    assert r.stdout.splitlines()[-1] == (f"  kept existing {storage / SUMMARY_DIR}; 5 seeds have completed since "
                                         "it was made from 4: pass --re_run_if_exists to redo it")
    r = run_module("alfred.benchmark", *args, "--re_run_if_exists", cwd=tmp_path)
    assert r.stdout.splitlines()[-1] == f"  wrote {storage / SUMMARY_DIR}"
    assert json.loads((storage / SUMMARY_DIR / "summary.json").read_text())["load_report"]["loaded"] == 5


def test_a_comparison_of_other_storage_dirs_is_redone(tmp_path):
    a = make_search(tmp_path, {1: {1: curve([0, 1]), 2: curve([0, 2])}}, name="Te1_nogit_algA_taskA_grid_c")
    b = make_search(tmp_path, {1: {1: curve([0, 3]), 2: curve([0, 4])}}, name="Te2_nogit_algB_taskA_grid_c")
    c = make_search(tmp_path, {1: {1: curve([0, 5]), 2: curve([0, 6])}}, name="Te3_nogit_algC_taskA_grid_c")
    list_file = tmp_path / "list_searches_c.txt"
    out = tmp_path / "benchmark_searches_c"
    args = ["--benchmark_type", "compare_searches", "--from_file", str(list_file), "--y_metric", "score"]
    list_file.write_text(f"# root_dir={tmp_path}\n{a.name}\n{b.name}\n")
    r = run_module("alfred.benchmark", *args, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == f"wrote {out}", r.stdout + r.stderr
    r = run_module("alfred.benchmark", *args, cwd=tmp_path)
    assert r.stdout.startswith(f"kept existing {out} (compare_searches of the same 2 storage dir(s)")
    list_file.write_text(f"# root_dir={tmp_path}\n{a.name}\n{c.name}\n")  # a rerun of the demo: new searches
    r = run_module("alfred.benchmark", *args, cwd=tmp_path)
    assert r.stdout.splitlines() == [f"{out / 'compare_searches.json'} compares other storage dirs: redoing it",
                                     f"wrote {out}"]
    assert set(json.loads((out / "compare_searches.json").read_text())["scores"]) == {a.name, c.name}


@pytest.mark.slow
def test_a_demo_rerun_redoes_its_comparisons_and_lists_only_this_runs_results(tmp_path):
    outputs = []
    for _ in range(2):
        r = run_module("alfred.demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path, timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        outputs.append(r.stdout)
    assert "compares other storage dirs" not in outputs[0]
    for kind in ("searches", "retrains"):  # the rerun made new searches: their comparisons are redone
        assert f"benchmark_{kind}_demo/compare_" in outputs[1]
        assert f"wrote schedules/benchmark_{kind}_demo" in outputs[1]
    assert outputs[1].count("compares other storage dirs: redoing it") == 2
    listed = outputs[1].split("results, under")[1]
    assert listed.count("storage/") == 4 and listed.count("schedules/benchmark_") == 2
    compared = json.loads((tmp_path / "demo" / "schedules" / "benchmark_searches_demo" / "compare_searches.json")
                          .read_text())["scores"]
    lines = (tmp_path / "demo" / "schedules" / "list_searches_demo.txt").read_text().splitlines()
    assert set(compared) == {line for line in lines if not line.startswith("#")}
