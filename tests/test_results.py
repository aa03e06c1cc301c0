"""The results side: loader, summaries, summary flags, plot arrays, retrain of the best config."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, grid_schedule, seed_paths

from alfred.protocol.layout import (
    COMPLETED,
    CRASH,
    GRID_SEARCH,
    PLOTS_DIR,
    SUMMARY_COMPLETED,
    SUMMARY_DIR,
    SUMMARY_FAILED,
    SUMMARY_ONGOING,
    UNHATCHED,
)
from alfred.protocol.listing import list_storage_dirs
from alfred.protocol.seed_state import HOSTNAME, pid_start_time
from alfred.results import load_curves, load_results
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import AlfredError
from alfred.utils.recorder import Recorder

NAME = "Te1_nogit_algA_taskA_grid_syn"


# ----------------------------------------------------------------------------- synthetic searches
def make_search(root: Path, experiments: dict[int, dict[int, object]], *, name: str = NAME, params=None,
                suffix: str = ".pkl", kind_flag: str | None = GRID_SEARCH, task: str = "taskA") -> Path:
    """A storage dir written by hand. Each seed value: a tape dict (COMPLETED), "crash", "unhatched",
    "norec" (COMPLETED without recorder)."""
    storage = root / name
    storage.mkdir(parents=True)
    if kind_flag:
        (storage / kind_flag).touch()
    alg = name.split("_")[2]  # <id>_<githashes>_<alg>_<task>_<desc>
    (storage / "prepare_info.json").write_text(json.dumps({"alg_name": alg, "task_name": task}))
    for e, seeds in experiments.items():
        p = (params or {}).get(e, {"lr": 0.1 * e})
        for s, tape in seeds.items():
            tree = DirectoryTree.from_parts(root, name, e, s)
            tree.seed_dir.mkdir(parents=True)
            unique = {**p, "alg_name": alg, "task_name": task, "seed": s}
            tree.config_unique_path.write_text(json.dumps(unique))
            tree.config_path.write_text(json.dumps({**unique, "desc": "grid_syn", "n_steps": 100}))
            if tape == "crash":
                (tree.seed_dir / CRASH).write_text("boom")
            elif tape == "unhatched":
                (tree.seed_dir / UNHATCHED).touch()
            else:
                (tree.seed_dir / COMPLETED).touch()
                if tape != "norec":
                    tree.create_directories()
                    r = Recorder(list(tape))
                    n = max(len(v) for v in tape.values())
                    for i in range(n):
                        r.write_to_tape({k: v[i] for k, v in tape.items() if i < len(v)})
                    r.save(tree.recorders_dir / f"train_recorder{suffix}")
    return storage


def curve(values) -> dict:
    values = list(values)
    return {"step": list(range(len(values))), "score": values}


def scored_search(root: Path, means: dict[int, float], *, n_seeds: int = 5, noise: float = 0.01, **kw) -> Path:
    rng = np.random.default_rng(0)
    exps = {e: {s: curve([0.0, m + noise * rng.standard_normal()]) for s in range(1, n_seeds + 1)}
            for e, m in means.items()}
    return make_search(root, exps, **kw)


def run_module(module: str, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


# ----------------------------------------------------------------------------- loader
def test_load_curves_unequal_lengths_none_nan_and_skipped_seeds(tmp_path):
    storage = make_search(tmp_path, {
        1: {1: curve([1, 2, 3]), 2: curve([1, None, 3, 4, 5]), 3: curve([float("nan"), 2])},
        2: {1: "crash", 2: "unhatched", 3: "norec"},
        3: {1: curve([7, 8]), 2: {"step": [0], "score": [None]}},
    })
    from alfred.results.loading import LoadReport

    report = LoadReport()
    curves = load_curves(storage, x_metric="step", y_metric="score", report=report)
    assert sorted(curves) == [1, 3]
    c = curves[1]
    assert c.seeds == [1, 2, 3] and c.y.shape == (3, 5)
    np.testing.assert_array_equal(c.x, [0, 1, 2, 3, 4])
    assert np.isnan(c.y[0, 3:]).all() and np.isnan(c.y[1, 1]) and np.isnan(c.y[2, 0]) and c.y[1, 4] == 5
    assert c.config == {"lr": 0.1, "alg_name": "algA", "task_name": "taskA"}
    assert curves[3].y.shape == (1, 2)  # the all-None seed is dropped as empty
    assert report.crashed == ["experiment2/seed1"] and report.unfinished == ["experiment2/seed2"]
    assert report.missing_recorder == ["experiment2/seed3"] and report.empty == ["experiment3/seed2"]
    assert report.loaded == 4 and report.n_seeds == 8
    assert "1 crashed" in report.describe()


def test_load_results_tidy_frame_any_suffix(tmp_path):
    a = make_search(tmp_path, {1: {1: curve([1, 2, 3]), 2: curve([4])}}, suffix=".jsonl")
    b = make_search(tmp_path, {1: {1: curve([5, None])}, 2: {1: "crash"}}, name="Te2_nogit_algA_taskA_grid_b",
                    suffix=".csv")
    df, report = load_results([a, b])
    assert list(df.columns[:4]) == ["storage", "experiment", "seed", "lr"]
    assert {"alg_name", "task_name", "step", "score"} <= set(df.columns)
    assert len(df) == 3 + 1 + 2
    assert df[df.storage == b.name].score.isna().sum() == 1
    assert df[(df.storage == a.name) & (df.seed == 1)].step.tolist() == [0, 1, 2]
    assert report.crashed == ["experiment2/seed1"]
    df2, _ = load_results(a, metrics=["score"])
    assert "score" in df2.columns and "step" in df2.columns  # step is the entry index column


def test_unknown_metric_lists_recorded_ones(tmp_path):
    storage = make_search(tmp_path, {1: {1: curve([1, 2])}})
    with pytest.raises(AlfredError, match=r"'reward' is not recorded .*recorded metrics: step, score"):
        load_curves(storage, y_metric="reward")
    with pytest.raises(AlfredError, match="recorded metrics: step, score"):
        load_results(storage, metrics=["reward"])


# ----------------------------------------------------------------------------- selection
def test_best_config_is_the_known_best(tmp_path):
    from alfred.results.summary import summarize_search

    storage = scored_search(tmp_path, {1: 0.2, 2: 0.9, 3: 0.5})
    summary = summarize_search(storage, y_metric="score")
    assert summary["best_experiment"] == 2
    files = sorted(p.name for p in (storage / SUMMARY_DIR).iterdir())
    assert "bestConfig_exp2.json" in files and "seed_scores.csv" in files and "summary.txt" in files
    assert json.loads((storage / SUMMARY_DIR / "bestConfig_exp2.json").read_text()) == {
        "lr": 0.2, "alg_name": "algA", "task_name": "taskA"}
    assert summary["overlapping_experiments"] == [] and summary["confidence"].startswith("high")
    assert [r["experiment"] for r in summary["ranking"]] == [2, 3, 1]
    scores = json.loads((storage / SUMMARY_DIR / "seed_scores.json").read_text())
    assert len(scores["experiment1"]) == 5
    # lower is better and other aggregations pick the other end
    summary = summarize_search(storage, y_metric="score", lower_is_better=True)
    assert summary["best_experiment"] == 1
    summary = summarize_search(storage, y_metric="score", performance_aggregation="min", y_error_bars="stderr")
    assert summary["best_experiment"] in (1, 2, 3)  # min of each curve is its 0.0 start: a tie, any is fine


def test_overlap_report(tmp_path):
    from alfred.results.summary import summarize_search

    values = {1: [0.7, 0.9, 0.8, 0.85, 0.75], 2: [0.72, 0.88, 0.76, 0.83, 0.74], 3: [0.1, 0.12, 0.08, 0.1, 0.11]}
    curves = {e: {s: curve([0.0, v]) for s, v in enumerate(vals, 1)} for e, vals in values.items()}
    storage = make_search(tmp_path, curves)
    summary = summarize_search(storage, y_metric="score", n_resamples=2000)
    assert summary["best_experiment"] == 1
    assert summary["overlapping_experiments"] == [2]
    assert summary["confidence"].startswith("low")
    text = (storage / SUMMARY_DIR / "summary.txt").read_text()
    assert "overlapping: experiment" in text


def test_settings_from_results_and_flags_override(tmp_path):
    from alfred.results.settings import resolve_settings

    storage = scored_search(tmp_path, {1: 0.2})
    info = json.loads((storage / "prepare_info.json").read_text())
    info["results"] = {"y_metric": "score", "performance_aggregation": "max", "y_error_bars": "stderr"}
    (storage / "prepare_info.json").write_text(json.dumps(info))
    s = resolve_settings(storage, {"y_error_bars": None, "performance_aggregation": "last_10%"})
    chosen = (s.y_metric, s.performance_aggregation, s.y_error_bars, s.x_metric)
    assert chosen == ("score", "last_10%", "stderr", "step")


# ----------------------------------------------------------------------------- bad inputs
def _bad_inputs(root: Path) -> dict[str, tuple[Path, list[str], str]]:
    cases = {}
    cases["unknown metric"] = (scored_search(root / "a", {1: 0.5}), ["--y_metric", "reward"],
                               "recorded metrics: step, score")
    empty = make_search(root / "b", {})
    cases["empty search"] = (empty, ["--y_metric", "score"], "empty search")
    cases["all crashed"] = (make_search(root / "c", {1: {1: "crash", 2: "crash"}}), ["--y_metric", "score"],
                            "could be scored")
    cases["inf values"] = (make_search(root / "d", {1: {1: curve([1, float("inf")]), 2: curve([1, 2])}}),
                           ["--y_metric", "score"], "non-finite")
    cases["other kind"] = (make_search(root / "e", {1: {1: curve([1])}}, kind_flag=None), ["--y_metric", "score"],
                           "not a search's storage dir")
    return cases


def test_bad_inputs_one_line_nonzero_exit_no_summary(tmp_path):
    from alfred.results.auto_summary import summarize_finished

    for what, (storage, extra, message) in _bad_inputs(tmp_path).items():
        r = run_module("alfred.benchmark", "--storage_name", storage.name, "--root_dir", str(storage.parent), *extra,
                       cwd=tmp_path)
        assert r.returncode == 2, (what, r.stdout, r.stderr)
        assert r.stderr.strip().count("\n") == 0 and message in r.stderr, (what, r.stderr)
        assert not (storage / SUMMARY_DIR).exists(), what
        assert not [p for p in storage.iterdir() if p.name.startswith(".summary")], what
        results = summarize_finished([storage], overrides={"y_metric": extra[1]}, log=lambda line: None)
        assert not (storage / SUMMARY_COMPLETED).exists() and not (storage / SUMMARY_ONGOING).exists(), what
        expected = "skipped" if what == "other kind" else "failed"
        assert results[0].action == expected, (what, results)
        if expected == "failed":
            assert message in json.loads((storage / SUMMARY_FAILED).read_text())["error"]


def test_bad_flags_rejected(tmp_path):
    storage = scored_search(tmp_path, {1: 0.5})
    r = run_module("alfred.benchmark", "--storage_name", storage.name, "--root_dir", str(storage.parent),
                   "--performance_aggregation", "median", cwd=tmp_path)
    assert r.returncode == 2 and "last_<k>%" in r.stderr and r.stderr.count("\n") == 1
    r = run_module("alfred.benchmark", cwd=tmp_path)
    assert r.returncode == 2 and "exactly one of --from_file" in r.stderr


# ----------------------------------------------------------------------------- summary flags
RACER = textwrap.dedent("""
    import sys, time, os
    from pathlib import Path
    from alfred.results.auto_summary import summarize_finished
    go = Path(sys.argv[2])
    Path(sys.argv[3]).touch()  # imported and waiting at the line
    while not go.exists():
        time.sleep(0.001)
    r = summarize_finished([Path(sys.argv[1])], overrides={"y_metric": "score"}, n_resamples=200,
                           log=lambda line: None)
    print("ACTION", r[0].action)
""")


def test_summary_exactly_once_with_racing_processes(tmp_path):
    storage = scored_search(tmp_path / "root", {1: 0.1, 2: 0.5, 3: 0.3})
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    ready = [tmp_path / f"ready{i}" for i in range(4)]
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(storage), str(go), str(r)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for r in ready]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready):  # every racer waits at the line: start them at once
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a racer did not start"
        time.sleep(0.01)
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    actions = [line.split()[1] for out, _ in outs for line in out.splitlines() if line.startswith("ACTION")]
    assert len(actions) == 4, outs
    assert actions.count("summarized") == 1, actions
    assert set(actions) <= {"summarized", "busy", "up"}, actions
    assert (storage / SUMMARY_COMPLETED).exists() and not (storage / SUMMARY_ONGOING).exists()
    assert (storage / SUMMARY_DIR / "summary.json").exists() and (storage / PLOTS_DIR).is_dir()
    info = json.loads((storage / SUMMARY_COMPLETED).read_text())
    assert info["n_completed"] == 15 and info["best_experiment"] == 2
    # later calls: up to date, nothing redone
    from alfred.results.auto_summary import summarize_finished
    assert summarize_finished([storage], log=lambda line: None)[0].action == "up to date"


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_dead_owner_summary_flag_is_taken_over_live_one_is_not(tmp_path):
    from alfred.results.auto_summary import summarize_finished

    storage = scored_search(tmp_path, {1: 0.1, 2: 0.5})
    flag = storage / SUMMARY_ONGOING
    flag.write_text(json.dumps({"host": HOSTNAME, "pid": os.getpid(),
                                "pid_start": pid_start_time(os.getpid())}))
    r = summarize_finished([storage], overrides={"y_metric": "score"}, log=lambda line: None)
    assert r[0].action == "busy" and flag.exists() and not (storage / SUMMARY_COMPLETED).exists()
    flag.write_text(json.dumps({"host": HOSTNAME, "pid": _dead_pid(), "pid_start": "1"}))
    r = summarize_finished([storage], overrides={"y_metric": "score"}, log=lambda line: None)
    assert r[0].action == "summarized"
    assert (storage / SUMMARY_COMPLETED).exists() and not flag.exists()
    # another host's flag: taken over only once older than the threshold
    (storage / SUMMARY_COMPLETED).unlink()
    flag.write_text(json.dumps({"host": "elsewhere", "pid": 1, "epoch": time.time()}))
    assert summarize_finished([storage], overrides={"y_metric": "score"}, log=lambda line: None)[0].action == "busy"
    old = time.time() - 10_000
    os.utime(flag, (old, old))
    flag.write_text(json.dumps({"host": "elsewhere", "pid": 1, "epoch": old}))
    os.utime(flag, (old, old))
    r = summarize_finished([storage], overrides={"y_metric": "score"}, stale_after_s=3600, log=lambda line: None)
    assert r[0].action == "summarized"


def test_clean_interrupted_removes_stale_summary_flag(tmp_path):
    from alfred.clean_interrupted import main

    storage = scored_search(tmp_path, {1: 0.1})
    (storage / SUMMARY_ONGOING).write_text(json.dumps({"host": HOSTNAME, "pid": _dead_pid()}))
    assert main(["--storage_name", storage.name, "--root_dir", str(storage.parent), "--yes"]) == 0
    assert not (storage / SUMMARY_ONGOING).exists()


def test_unfinished_search_is_not_summarized(tmp_path):
    from alfred.results.auto_summary import summarize_finished

    storage = make_search(tmp_path, {1: {1: curve([1, 2]), 2: "unhatched"}})
    r = summarize_finished([storage], overrides={"y_metric": "score"}, log=lambda line: None)
    assert r[0].action == "unfinished" and not (storage / SUMMARY_DIR).exists()


# ----------------------------------------------------------------------------- a real search, end to end
DEMO_RESULTS = 'RESULTS = {"x_metric": "step", "y_metric": "test_accuracy", "performance_aggregation": "last"}\n'


def test_real_search_is_summarized_after_launch(project):
    shutil.copy(REPO / "alfred" / "demo_project" / "main.py", project.path / "main.py")
    schedule = project.write_schedule("grid_schedule_demo.py", grid_schedule(
        {"learning_rate": [0.001, 1.0], "n_steps": [60]}, algs=["mlp"], tasks=["moons"], seeds=(1, 2),
        extra=DEMO_RESULTS))
    assert project.prepare(schedule) == 0
    storage = project.storage_dirs()[0]
    info = json.loads((storage / "prepare_info.json").read_text())
    assert info["results"]["y_metric"] == "test_accuracy"
    r = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_demo.txt")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "summary of" in r.stdout
    assert (storage / SUMMARY_COMPLETED).exists()
    best = json.loads((storage / SUMMARY_DIR / "summary.json").read_text())
    assert best["best_experiment"] == 2 and best["best_config"]["learning_rate"] == 1.0
    assert (storage / PLOTS_DIR / "test_accuracy_vs_step.png").exists()
    assert (storage / SUMMARY_DIR / "learning_curves_test_accuracy.png").exists()
    # --no_summary: nothing is attempted (here: the summary is up to date anyway)
    r = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_demo.txt", "--no_summary")
    assert r.returncode == 0 and "summary" not in r.stdout
    # compare_models on the search writes beside the list file
    r = project.run_module("alfred.benchmark", "--benchmark_type", "compare_models", "--from_file",
                           "schedules/list_searches_demo.txt")
    assert r.returncode == 0, r.stderr
    assert (project.schedules / "benchmark_searches_demo" / "compare_models.json").exists()


def test_bad_results_key_in_schedule(project):
    schedule = project.write_schedule("grid_schedule_bad.py", grid_schedule(
        {"lr": [0.1]}, extra='RESULTS = {"y_metrik": "score"}\n'))
    r = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), "--yes")
    assert r.returncode == 2 and "unknown key(s) 'y_metrik'" in r.stderr and "y_metric" in r.stderr


# ----------------------------------------------------------------------------- comparisons and plot arrays
def test_compare_searches_and_models(tmp_path):
    a = scored_search(tmp_path, {1: 0.1, 2: 0.5, 3: 0.3})
    b = scored_search(tmp_path, {1: 0.7, 2: 0.6}, name="Te2_nogit_algB_taskA_grid_syn")
    c = scored_search(tmp_path, {1: 0.4}, name="Te3_nogit_algB_taskB_grid_syn", task="taskB")
    list_file = tmp_path / "list_searches_cmp.txt"
    list_file.write_text(f"# root_dir={tmp_path}\n{a.name}\n{b.name}\n{c.name}\n")
    for kind in ("compare_searches", "compare_models"):
        r = run_module("alfred.benchmark", "--benchmark_type", kind, "--from_file", str(list_file),
                       "--y_metric", "score", "--n_resamples", "500", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    out = tmp_path / "benchmark_searches_cmp"
    models = json.loads((out / "compare_models.json").read_text())["models"]
    assert {m["task"] for m in models.values()} == {"taskA", "taskB"}
    assert models[b.name]["best_experiment"] == 1
    assert (out / "compare_models_score.png").exists() and (out / "compare_searches_score.png").exists()


def test_plot_arrays_cap_large_search(tmp_path):
    from alfred.results.plot_arrays import make_plot_arrays

    means = {e: e / 150 for e in range(1, 121)}
    storage = scored_search(tmp_path, means, n_seeds=2)
    written = make_plot_arrays(storage, x_metrics=["step"], y_metrics=["score"], overrides={"y_metric": "score"},
                               max_panels=20)
    assert [p.name for p in written] == ["score_vs_step.png"] and written[0].exists()
    assert (storage / "PLOT_ARRAYS_COMPLETED").exists() and not (storage / "PLOT_ARRAYS_ONGOING").exists()


def test_make_plot_arrays_cli_metric_lists(tmp_path):
    storage = make_search(tmp_path, {e: {1: {"step": [0, 1], "a": [1, 2], "b": [3, 4]}} for e in (1, 2)})
    r = run_module("alfred.make_comparative_plots", "--storage_name", storage.name, "--root_dir", str(storage.parent),
                   "--x_metric", "step", "--y_metric", "a", "b", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (storage / PLOTS_DIR).iterdir()) == ["a_vs_step.png", "b_vs_step.png"]
    r = run_module("alfred.make_plot_arrays", "--storage_name", storage.name, "--root_dir", str(storage.parent),
                   "--y_metric", "zzz", cwd=tmp_path)
    assert r.returncode == 2 and "recorded metrics: step, a, b" in r.stderr


# ----------------------------------------------------------------------------- retrain of the best
def test_create_retrainbest_twice_creates_nothing_new(tmp_path):
    from alfred.create_retrainbest import main

    root = tmp_path / "storage"
    storage = scored_search(root, {1: 0.1, 2: 0.9, 3: 0.5}, n_seeds=3)
    list_file = tmp_path / "list_searches_x.txt"
    list_file.write_text(f"# root_dir={root}\n{storage.name}\n")
    args = ["--from_file", str(list_file), "--n_retrain_seeds", "4", "--budget_params", "n_steps",
            "--train_time_factor", "2.5", "--performance_metric", "score", "--yes"]
    assert main(args) == 0
    dirs = list_storage_dirs(root)
    assert len(dirs) == 2
    retrain = next(d for d in dirs if d != storage)
    assert retrain.name.endswith("_retrainBest_grid_syn") and (retrain / "RETRAIN_BEST").exists()
    seeds = [DirectoryTree(s).seed for s in seed_paths(retrain / "experiment1")]
    assert seeds == [4, 5, 6, 7]  # distinct from the search's seeds 1..3
    config = json.loads((retrain / "experiment1" / "seed4" / "config.json").read_text())
    assert config["lr"] == 0.2 and config["n_steps"] == 250 and config["seed"] == 4
    assert config["desc"] == "retrainBest_grid_syn"
    assert (retrain / "experiment1" / "seed4" / UNHATCHED).exists()
    lines = (tmp_path / "list_retrains_x.txt").read_text().splitlines()
    assert lines == [f"# root_dir={root.resolve()}", retrain.name]
    assert main(args) == 0
    assert len(list_storage_dirs(root)) == 2
    assert (tmp_path / "list_retrains_x.txt").read_text().splitlines() == lines
    # a retrain dir is summarisable like a search once run; and --storage_name writes beside the storage dir
    assert main(["--storage_name", storage.name, "--root_dir", str(root), "--performance_metric", "score", "--yes",
                 "--n_retrain_seeds", "4", "--budget_params", "n_steps", "--train_time_factor", "2.5"]) == 0
    assert (root / f"list_retrains_{storage.name}.txt").read_text().splitlines()[1] == retrain.name


def test_create_retrainbest_bad_budget_param_and_over_tasks(tmp_path, capsys):
    from alfred.create_retrainbest import main

    root = tmp_path / "storage"
    # task A prefers exp1 strongly, task B prefers exp2 slightly: the mean of normalised scores is a tie
    # broken by... make it clear: B prefers exp2 a bit, C prefers exp1 -> exp1 wins 2 of 3 normalised
    a = scored_search(root, {1: 0.9, 2: 0.1}, name="Te1_nogit_algA_taskA_grid_t")
    b = scored_search(root, {1: 0.45, 2: 0.5}, name="Te2_nogit_algA_taskB_grid_t", task="taskB")
    c = scored_search(root, {1: 0.8, 2: 0.3}, name="Te3_nogit_algA_taskC_grid_t", task="taskC")
    assert main(["--storage_name", a.name, "--root_dir", str(root), "--budget_params", "nope", "--yes",
                 "--performance_metric", "score"]) == 2
    assert "numeric ones: lr, n_steps" in capsys.readouterr().err
    list_file = tmp_path / "list_searches_t.txt"
    list_file.write_text(f"# root_dir={root}\n{a.name}\n{b.name}\n{c.name}\n")
    assert main(["--from_file", str(list_file), "--over_tasks", "--performance_metric", "score", "--yes",
                 "--n_retrain_seeds", "2"]) == 0
    retrains = [d for d in list_storage_dirs(root) if "retrainBest" in d.name]
    assert len(retrains) == 3
    for d in retrains:  # every task retrains experiment 1 (lr 0.1), the best on the aggregate
        assert json.loads((d / "prepare_info.json").read_text())["best_experiment"] == 1


# ----------------------------------------------------------------------------- entry points
def test_summary_redone_when_more_seeds_complete(tmp_path):
    from alfred.results.auto_summary import summarize_finished

    storage = scored_search(tmp_path, {1: 0.1, 2: 0.5}, n_seeds=2)
    quiet = dict(overrides={"y_metric": "score"}, n_resamples=100, log=lambda line: None)
    assert summarize_finished([storage], **quiet)[0].action == "summarized"
    assert summarize_finished([storage], **quiet)[0].action == "up to date"
    # a third seed of experiment 1 completes, much better: the summary is redone and changes its mind
    tree = DirectoryTree.from_parts(tmp_path, NAME, 1, 3)
    tree.seed_dir.mkdir()
    tree.config_unique_path.write_text(json.dumps({"lr": 0.1, "alg_name": "algA", "task_name": "taskA", "seed": 3}))
    tree.create_directories()
    r = Recorder(["step", "score"])
    r.write_to_tape({"step": 0, "score": 0.0})
    r.write_to_tape({"step": 1, "score": 5.0})
    r.save(tree.recorders_dir / "train_recorder.pkl")
    (tree.seed_dir / COMPLETED).touch()
    assert summarize_finished([storage], **quiet)[0].action == "summarized"
    assert json.loads((storage / SUMMARY_COMPLETED).read_text())["best_experiment"] == 1


@pytest.mark.parametrize("bars", ["stderr", "10th_quantile", "none"])
def test_error_bar_modes_and_random_search(tmp_path, bars):
    from alfred.results.summary import summarize_search

    storage = scored_search(tmp_path, {1: 0.1, 2: 0.5, 3: 0.3}, kind_flag="RANDOM_SEARCH",
                            name="Te1_nogit_algA_taskA_random_syn")
    summary = summarize_search(storage, y_metric="score", y_error_bars=bars)
    assert summary["best_experiment"] == 2
    if bars == "none":
        assert summary["confidence"].startswith("unknown") and summary["overlapping_experiments"] == []
    else:
        assert summary["confidence"].startswith("high")
    assert (storage / SUMMARY_DIR / "performance_score.png").exists()


def test_load_results_with_progress_bar_and_unfinished(tmp_path):
    storage = make_search(tmp_path, {1: {1: curve([1, 2]), 2: "unhatched"}})
    df, report = load_results([storage], pbar=True)
    assert len(df) == 2 and report.unfinished == ["experiment1/seed2"]
