"""A project written for the released alfred v0.3 (tests/legacy_project_v03: torch scalars in its
recorder, an infinite default in get_run_args, its own analysis script on the v0.2 plot helpers)
goes through prepare -> launch -> summaries -> retrain -> make_plot_arrays -> compare, a hand
run, and every other script, each typed with the tags' flags, in real processes, with zero
edits; its figures are checked to hold data. Every script flag of tests/compat/*.api is used
by one of these runs (checked at the end).

Needs torch (the project imports it): CI installs torch==2.13.0, the CPU build.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from test_compat_api import ALL_LINES

pytest.importorskip("torch", reason="the v0.3 project imports torch (CI installs torch==2.13.0, the CPU build)")

PROJECT = REPO / "tests" / "legacy_project_v03"
LIST = "schedules/lrSearch/list_searches_lrSearch.txt"
RETRAINS = "schedules/lrSearch/list_retrains_lrSearch.txt"


def colored_fraction(png: Path) -> float:
    """Share of a figure's pixels in colour (curves, bars, boxes); text, grid and axes are grey. Empty
    axes with a legend of six curves give about 0.0006; the thinnest figure with data here, 0.005."""
    import matplotlib.image

    rgb = matplotlib.image.imread(png)[..., :3]
    return float(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 0.25).mean())


class Project:
    def __init__(self, path: Path):
        self.path = path
        self.argv: list[list[str]] = []

    def env(self) -> dict:
        return {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}

    def run(self, *argv: str, answer: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
        if argv[0] == "-m":
            self.argv.append(list(argv[1:]))
        out = subprocess.run([sys.executable, *argv], cwd=self.path, env=self.env(), capture_output=True, text=True,
                             input=answer, timeout=300)
        if ok:
            assert out.returncode == 0, f"{' '.join(argv)}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        return out

    def storage(self) -> list[Path]:
        return sorted(p for p in (self.path / "storage").iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    path = tmp_path_factory.mktemp("v03") / "two agents"
    shutil.copytree(PROJECT, path)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=T", "-c", "user.email=t@t", "commit", "-qm", "c"]):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    return Project(path)


def test_the_v03_project_runs_unchanged(project):
    p = project
    # prepare (0.2 asked "Should we proceed?" on stdin)
    p.run("-m", "alfred.prepare_schedule", "--schedule_file", "schedules/lrSearch/grid_schedule_lrSearch.py",
          "--desc", "lr", "--resample", "True", "--root_dir", "storage", answer="y\n")
    searches = p.storage()
    assert len(searches) == 2
    config = json.loads(next(searches[0].glob("experiment1/seed1/config.json")).read_text())
    assert config["save_every"] == float("inf")  # written as Infinity, read back exactly
    assert "Infinity" in next(searches[0].glob("experiment1/seed1/config.json")).read_text()
    variations = json.loads((searches[0] / "variations.json").read_text())
    assert variations == {"1-6": {"lr": [0.01, 0.05, 0.2], "noise": [0.0, 0.5], "alg_name": ["sgd", "momentum"],
                                  "task_name": ["bowl"], "seed": [1, 2]}}
    p.run("-m", "alfred.prepare_schedule", "--schedule_file", "schedules/lrSearch/grid_schedule_lrSearch.py",
          "--add_to_folder", searches[0].name, "--root_dir", "storage")  # nothing new to add

    # launch, with its automatic summaries
    out = p.run("-m", "alfred.launch_schedule", "--from_file", LIST, "--n_processes", "2",
                "--n_experiments_per_proc", "50", "--use_pbar", "False", "--check_hash", "True",
                "--run_clean_interrupted", "True", "--log_level", "info")
    assert "24 run(s) completed, 0 crashed" in out.stdout
    p.run("-m", "alfred.clean_interrupted", "--from_file", LIST, "--clean_crashes", "True",
          "--ask_for_validation", "False", "--root_dir", "storage")
    for search in searches:
        summary = json.loads((search / "summary" / "summary.json").read_text())
        assert summary["load_report"]["loaded"] == 12 and summary["load_report"]["unreadable"] == []
        assert summary["settings"]["y_metric"] == "eval_return" and summary["best_experiment"] in (5, 6)

    # summaries and their comparison, typed with 0.2's benchmark flags
    p.run("-m", "alfred.benchmark", "--from_file", LIST, "--benchmark_type", "compare_searches", "--x_metric",
          "episode", "--y_metric", "eval_return", "--y_error_bars", "bootstrapped_CI", "--re_run_if_exists", "True",
          "--n_eval_runs", "10", "--performance_metric", "eval_return", "--performance_aggregation",
          "mean_on_last_20_percents", "--log_level", "info", "--root_dir", "storage")
    for search in searches:
        assert colored_fraction(search / "summary" / "learning_curves_eval_return.png") > 0.002

    # retrain the best (0.2: twice max_episodes), launch the retrains
    mapping = p.path / "best.json"
    mapping.write_text(json.dumps({searches[1].name: 6}))
    p.run("-m", "alfred.create_retrainbest", "--from_file", LIST, "--n_retrain_seeds", "3", "--train_time_factor",
          "2", "--root_dir", "storage", answer="y\n")
    retrains = [d for d in p.storage() if d not in searches]
    assert len(retrains) == 2
    retrain_config = json.loads(next(retrains[0].glob("experiment1/seed*/config.json")).read_text())
    assert retrain_config["max_episodes"] == 60 and retrain_config["save_every"] == float("inf")
    p.run("-m", "alfred.create_retrainbest", "--storage_name", searches[1].name, "--best_experiments_mapping",
          str(mapping), "--n_retrain_seeds", "3", "--root_dir", "storage", answer="y\n")
    p.run("-m", "alfred.launch_schedule", "--from_file", RETRAINS, "--n_processes", "2")

    # plot arrays, 0.2's form
    out = p.run("-m", "alfred.make_plot_arrays", "--from_file", LIST, "--plots_to_make",
                "episode,eval_return,None,None,None,None", "episode,loss,None,None,0,50", "--remove_none", "True",
                "--root_dir", "storage")
    for search in searches:
        for name in ("eval_return_vs_episode.png", "loss_vs_episode.png"):
            assert colored_fraction(search / "plots" / name) > 0.002, name

    # compare the retrained models
    p.run("-m", "alfred.benchmark", "--benchmark_type", "compare_models", "--storage_names",
          *[d.name for d in retrains[:2]], "--root_dir", "storage")
    (figure,) = p.path.glob("storage/**/compare_models_eval_return.png")
    assert colored_fraction(figure) > 0.002

    # the project's own analysis script, on the v0.2 plot helpers and variations.json
    out = p.run("analysis/plot_results.py", str(searches[0]))
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"experiments": 6, "lines": 6, "boxes": 6}
    assert colored_fraction(searches[0] / "project_figure.png") > 0.002


def test_a_hand_run_and_the_other_scripts(project):
    p = project
    if not (p.path / "storage").is_dir():
        pytest.skip("needs the searches of test_the_v03_project_runs_unchanged")
    before = set(p.storage())
    p.run("main.py", "--alg_name", "sgd", "--desc", "by_hand", "--seed", "7", "--root_dir", "storage")
    (hand,) = set(p.storage()) - before
    assert json.loads(next(hand.glob("experiment1/seed7/config.json")).read_text())["save_every"] == float("inf")
    p.run("-m", "alfred.benchmark", "--storage_names", hand.name, "--root_dir", "storage")
    p.run("-m", "alfred.clean_interrupted", "--storage_name", hand.name, "--root_dir", "storage",
          "--ask_for_validation", "False")
    p.run("-m", "alfred.launch_schedule", "--storage_name", hand.name, "--root_dir", "storage")  # nothing left to run
    p.run("-m", "alfred.make_plot_arrays", "--storage_name", hand.name, "--root_dir", "storage")
    assert colored_fraction(hand / "plots" / "eval_return_vs_episode.png") > 0.002

    search = next(d for d in p.storage() if d.name.endswith("_sgd_bowl_grid_lr"))
    p.run("-m", "alfred.copy_config", "--storage_name", search.name, "--new_desc", "copy", "--append_new_desc",
          "True", "--additional_param", "budget=inf,float", "--root_dir", "storage", answer="y\n")
    copy = next(d for d in p.storage() if d.name.endswith("_grid_lr_copy"))
    assert json.loads(next(copy.glob("experiment1/seed1/config.json")).read_text())["budget"] == float("inf")
    p.run("-m", "alfred.copy_config", "--from_file", LIST, "--new_desc", "again", "--append_new_desc", "False",
          "--root_dir", "storage", answer="y\n")
    assert len([d for d in p.storage() if d.name.endswith("_grid_again")]) == 2

    seed_config = next(copy.glob("experiment2/seed1/config.json"))
    config = json.loads(seed_config.read_text())
    seed_config.write_text(json.dumps({**config, "lr": 0.3, "experiment_name": "mine"}))
    p.run("-m", "alfred.update_config_unique", "--storage_name", copy.name, "--root_dir", "storage")
    assert json.loads(seed_config.with_name("config_unique.json").read_text())["lr"] == 0.3
    p.run("-m", "alfred.anonymize_config", "--from_file", LIST, "--root_dir", "storage")
    p.run("-m", "alfred.anonymize_config", "--storage_name", copy.name, "--root_dir", "storage")
    assert "experiment_name" not in json.loads(seed_config.read_text())
    p.run("-m", "alfred.update_config_unique", "--from_file", LIST, "--root_dir", "storage")
    out = p.run("-m", "alfred.sync_wandb", "--root_dir", "storage", "--tag", "grid_lr", "--ask_for_validation",
                "False", "--project", "p", "--entity", "e")
    assert "nothing to sync" in out.stdout or "0 to sync" in out.stdout


def test_every_flag_of_the_tags_is_used_by_a_run(project):
    if len(project.argv) < 10:
        pytest.skip("needs the runs of the two tests above")
    used = {(argv[0], word) for argv in project.argv for word in argv[1:] if word.startswith("--")}
    missing = sorted({(line.module, line.name) for line in ALL_LINES if line.kind == "flag"} - used)
    assert not missing, f"flags of the tags no run used: {missing}"


def test_figure_helpers_raise_what_the_caller_did_wrong():
    """An unknown keyword is a TypeError the caller sees (0.2's make_plot_arrays swallowed them,
    leaving PNGs with empty axes); v0.2's keywords draw."""
    import matplotlib

    matplotlib.use("Agg")
    from alfred.utils.plots import create_fig, plot_curves, plot_vertical_densities

    fig, ax = create_fig((1, 1))
    with pytest.raises(TypeError, match="no_such_option"):
        plot_curves(ax, ys=[np.arange(3.0)], no_such_option=1)
    plot_curves(ax, [np.arange(3.0)], [np.arange(3.0)], None, None, 15, None, ["a"], "x", "y", (0, 5), (None, 4),
                error_up=[np.ones(3)], error_down=[np.ones(3)], hlines=[{"y": 1.0, "colors": "k"}])
    assert ax.get_xlim() == (0, 5) and ax.get_ylim()[1] == 4 and len(ax.collections) >= 2
    with pytest.raises(TypeError):
        plot_vertical_densities(ax, ys=[np.arange(3.0)], hline=[{"y": 1}])
