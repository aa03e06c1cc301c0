"""Acceptance: projects written for earlier alfred run unchanged.

``tests/legacy_project`` is written the 0.2 way, from the 0.2 README and COMPAT.md only; its
``main.py`` registers two git repos to track. The test types the 0.2 README's "Typical usage"
steps 1-6 verbatim (commands, flags, list-file paths; the y/n questions answered on stdin), the
``--flag True`` forms 0.2 users wrote, and ``python main.py ...`` by hand, then checks every seed,
summary, best configuration (against the recorders), retrain, figure and plot array.

``tests/legacy_project_defaults`` is written for a later 0.x: it sets ``alfred.defaults`` (its
root, its metric names, its plot arrays) in ``main.py``; its summaries, made by processes that
never import ``main.py``, must use them.
"""
from __future__ import annotations

import json
import os
import pickle
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, seed_trees

from alfred.protocol.layout import COMPLETED, SUMMARY_COMPLETED, StorageDir
from alfred.protocol.listing import list_storage_dirs

pytestmark = pytest.mark.slow

# The 0.2 README's "Typical usage", steps 1 to 6, as printed there (each command on one line).
README_STEPS = [
    "python -m alfred.prepare_schedule --schedule_file=schedules/benchmarkExample/random_schedule_benchmarkExample.py "
    "--desc benchmarkExample",
    "python -m alfred.launch_schedule --from_file schedules/benchmarkExample/list_searches_benchmarkExample.txt",
    "python -m alfred.create_retrainbest --from_file schedules/benchmarkExample/list_searches_benchmarkExample.txt",
    "python -m alfred.launch_schedule --from_file schedules/benchmarkExample/list_retrains_benchmarkExample.txt",
    "python -m alfred.benchmark --from_file schedules/benchmarkExample/list_searches_benchmarkExample.txt "
    "--benchmark_type compare_searches",
    "python -m alfred.benchmark --from_file schedules/benchmarkExample/list_retrains_benchmarkExample.txt "
    "--benchmark_type compare_models",
]
SEARCHES = "schedules/benchmarkExample/list_searches_benchmarkExample.txt"
RETRAINS = "schedules/benchmarkExample/list_retrains_benchmarkExample.txt"


def git(path: Path, *args: str) -> str:
    out = subprocess.run(["git", "-c", "user.name=Legacy User", "-c", "user.email=l@u", *args], cwd=path, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def commit_all(path: Path) -> str:
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "project")
    return git(path, "rev-parse", "--short", "HEAD")


def copy_project(name: str, dest: Path) -> Path:
    shutil.copytree(REPO / "tests" / name, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def sh(project: Path, command: str, answer: str = "", timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a command line as typed in a shell, in the project folder (``python`` is this interpreter)."""
    argv = shlex.split(command)
    if argv[0] == "python":
        argv[0] = sys.executable
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    out = subprocess.run(argv, cwd=project, input=answer, capture_output=True, text=True, timeout=timeout, env=env)
    assert out.returncode == 0, f"{command}\nexit {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def list_dirs(project: Path, list_file: str) -> list[Path]:
    lines = (project / list_file).read_text().splitlines()
    root = Path(next(line for line in lines if line.startswith("# root_dir=")).split("=", 1)[1])
    return [root / line for line in lines if line and not line.startswith("#")]


def experiment_scores(storage: Path, metric: str) -> dict[int, float]:
    """Independently of alfred's scoring: each experiment's mean over seeds of the last ``metric``."""
    scores: dict[int, list[float]] = {}
    for tree in seed_trees(storage):
        assert tree.flag_path(COMPLETED).is_file(), tree.seed_dir
        with open(tree.recorders_dir / "train_recorder.pkl", "rb") as f:
            tape = pickle.load(f)
        scores.setdefault(tree.experiment_num, []).append([v for v in tape[metric] if v is not None][-1])
    return {n: sum(v) / len(v) for n, v in scores.items()}


def check_summary(storage: Path, perf: str, y: str, x: str) -> dict:
    """The summary exists, used these metrics, and its bestConfig is the experiment with the best score."""
    s = StorageDir(storage)
    assert s.flag(SUMMARY_COMPLETED).is_file(), storage
    summary = json.loads(s.summary_files.json.read_text())
    assert (summary["settings"]["performance_metric"], summary["settings"]["y_metric"],
            summary["settings"]["x_metric"], summary["settings"]["performance_aggregation"]) == (perf, y, x, "last")
    scores = experiment_scores(storage, perf)
    ((best, best_config),) = s.best_configs()
    assert scores[best] == pytest.approx(max(scores.values())), (best, scores)
    first_seed = next(t for t in seed_trees(storage) if t.experiment_num == best)
    expected = {k: v for k, v in json.loads(first_seed.config_unique_path.read_text()).items() if k != "seed"}
    assert json.loads(best_config.read_text()) == expected
    assert (s.plots_dir / f"{y}_vs_{x}.png").is_file()
    return summary


def test_the_02_readme_typical_usage_verbatim(tmp_path):
    project = copy_project("legacy_project", tmp_path / "legacy_project")
    toolbox = project / "libs" / "toolbox"
    toolbox.mkdir(parents=True)
    (toolbox / "tools.py").write_text("SPEED = 1\n")
    hashes = f"{commit_all(project)}-{commit_all(toolbox)}"  # main.py tracks the project, then the toolbox

    # 1. Create the search folders
    sh(project, README_STEPS[0], answer="y\n")
    searches = list_dirs(project, SEARCHES)
    assert [d.name.split("_", 2)[1] for d in searches] == [hashes, hashes]
    assert sorted(d.name.split("_", 2)[2] for d in searches) == ["hillclimb_quadratic_random_benchmarkExample",
                                                                 "hillclimb_quartic_random_benchmarkExample"]
    # 2. Launch the searches: every seed completes, each search is summarised
    sh(project, README_STEPS[1])
    bests = {}
    for storage in searches:
        assert len(seed_trees(storage)) == 8
        summary = check_summary(storage, "avg_eval_return", "eval_return", "episode")
        bests[storage] = summary["best_config"]
        assert (seed_trees(storage)[0].seed_dir / "training.png").is_file()  # main's own create_fig/plot_curves
    # 3. Create the folders to retrain the best configuration from the search
    sh(project, README_STEPS[2], answer="y\n")
    retrains = list_dirs(project, RETRAINS)
    assert len(retrains) == 2 and all(d.name.split("_")[1] == hashes for d in retrains)
    # 4. Launch the retrainbest
    sh(project, README_STEPS[3])
    for storage, retrain in zip(searches, retrains):
        trees = seed_trees(retrain)
        assert len(trees) == 10 and all(t.flag_path(COMPLETED).is_file() for t in trees)
        assert json.loads(trees[0].config_path.read_text())["lr"] == bests[storage]["lr"]
        check_summary(retrain, "avg_eval_return", "eval_return", "episode")
    # 5. and 6. Benchmark the searches and the retrains
    sh(project, README_STEPS[4])
    sh(project, README_STEPS[5])
    comparisons = project / "schedules" / "benchmarkExample"
    assert (comparisons / "benchmark_searches_benchmarkExample" / "compare_searches_avg_eval_return.png").is_file()
    assert (comparisons / "benchmark_retrains_benchmarkExample" / "compare_models_eval_return.png").is_file()

    # The boolean flags as 0.2 users typed them
    out = sh(project, f"python -m alfred.clean_interrupted --from_file {SEARCHES} --clean_crashes True "
                      "--ask_for_validation False")
    assert "nothing to clean" in out.stdout
    sh(project, f"python -m alfred.launch_schedule --from_file {SEARCHES} --use_pbar True --check_hash True "
                "--run_clean_interrupted True --over_tasks False")
    sh(project, f"python -m alfred.make_comparative_plots --from_file {SEARCHES}")
    sh(project, f"python -m alfred.benchmark --from_file {SEARCHES} --re_run_if_exists True")
    # A grid schedule in its own folder, run by two workers giving main() progress bars
    sh(project, "python -m alfred.prepare_schedule --schedule_file schedules/gridExample/grid_schedule_gridExample.py "
                "--desc gridExample --resample False", answer="y\n")
    sh(project, "python -m alfred.launch_schedule --from_file schedules/gridExample/list_searches_gridExample.txt "
                "--n_processes 2 --use_pbar True")
    (grid,) = list_dirs(project, "schedules/gridExample/list_searches_gridExample.txt")
    summary = check_summary(grid, "avg_eval_return", "eval_return", "episode")
    assert summary["best_config"]["lr"] == 0.2  # the largest step gets closest to the optimum

    # main.py run by hand: a storage dir of its own, which a summary reads
    sh(project, "python main.py --alg_name byhand --task_name quadratic --desc tried_by_hand --seed 5 "
                "--max_episodes 20")
    (by_hand,) = [d for d in list_storage_dirs(project / "storage") if "_byhand_" in d.name]
    assert by_hand.name.split("_", 2)[1:] == [hashes, "byhand_quadratic_tried_by_hand"]
    (tree,) = seed_trees(by_hand)
    assert tree.flag_path(COMPLETED).is_file() and "final eval_return" in tree.log_path.read_text()
    sh(project, f"python -m alfred.benchmark --storage_names {by_hand.name}")
    assert StorageDir(by_hand).summary_files.json.is_file()


def test_a_later_project_setting_alfred_defaults(tmp_path):
    project = copy_project("legacy_project_defaults", tmp_path / "defaults_project")
    searches = "schedules/searchA/list_searches_searchA.txt"
    sh(project, "python -m alfred.prepare_schedule --schedule_file schedules/searchA/grid_schedule_searchA.py --yes")
    (search,) = list_dirs(project, searches)
    assert search.parent == project / "results"  # DEFAULT_DIRECTORY_TREE_ROOT
    sh(project, f"python -m alfred.launch_schedule --from_file {searches} --n_processes 2")
    summary = check_summary(search, "avg_return", "return", "step")
    assert summary["best_config"]["lr"] == 0.1
    assert (StorageDir(search).plots_dir / "loss_vs_step.png").is_file()  # DEFAULT_PLOTS_ARRAYS_TO_MAKE
    # a summary by a process that never imports main.py still uses the project's defaults
    sh(project, f"python -m alfred.benchmark --from_file {searches} --re_run_if_exists")
    check_summary(search, "avg_return", "return", "step")
    sh(project, f"python -m alfred.create_retrainbest --from_file {searches} --n_retrain_seeds 3 --yes")
    sh(project, "python -m alfred.launch_schedule --from_file schedules/searchA/list_retrains_searchA.txt")
    (retrain,) = list_dirs(project, "schedules/searchA/list_retrains_searchA.txt")
    check_summary(retrain, "avg_return", "return", "step")
    sh(project, "python -m alfred.benchmark --from_file schedules/searchA/list_retrains_searchA.txt "
                "--benchmark_type compare_models")
    assert (project / "schedules" / "searchA" / "benchmark_retrains_searchA" / "compare_models_return.png").is_file()
