"""What 0.2 projects type and call beyond the utils: boolean flags in both forms in every script,
list files named after the schedule's folder, the results defaults and flags of every results
script, a failed automatic summary failing the launch, retrains keeping every tracked repo, the
Python entry points, ``main.py`` run by hand, and ``main`` called by keyword.

Scripts and their flags are discovered from the package (``build_parser()``), never listed by hand.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import grid_schedule, seed_trees
from test_structure import script_modules

import alfred.defaults
from alfred.protocol.layout import COMPLETED, CRASH, OPENED, UNHATCHED, StorageDir
from alfred.protocol.listing import list_storage_dirs
from alfred.results.settings import resolve_settings
from alfred.utils.config import parse_bool
from alfred.utils.misc import AlfredError

RESULTS_FLAGS = ("--x_metric", "--y_metric", "--performance_metric", "--performance_aggregation", "--y_error_bars",
                 "--lower_is_better", "--recorder_name")
RESULTS_SCRIPTS = ("alfred.benchmark", "alfred.make_plot_arrays", "alfred.create_retrainbest", "alfred.launch_schedule")
ENTRY_POINTS = {"alfred.prepare_schedule": "prepare_schedule", "alfred.launch_schedule": "launch_schedule",
                "alfred.clean_interrupted": "clean_interrupted", "alfred.create_retrainbest": "create_retrain_best",
                "alfred.make_plot_arrays": "create_plot_arrays", "alfred.copy_config": "copy_configs",
                "alfred.sync_wandb": "sync_wandb"}


def parsers() -> dict[str, argparse.ArgumentParser]:
    found = {}
    for name in script_modules():
        module = importlib.import_module(name)
        if hasattr(module, "build_parser"):
            found[name] = module.build_parser()
    return found


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


# Boolean flags: --flag and --flag True|False everywhere -----------------------------------------

def boolean_flags() -> list[tuple[str, str]]:
    """(script, option) of every boolean flag: a switch (store_true/false) or a parse_bool type."""
    found = []
    for script, parser in parsers().items():
        for action in parser._actions:
            if not action.option_strings or action.dest == "help":
                continue
            switch = action.nargs == 0 and isinstance(action.const, bool)
            if switch or action.type is parse_bool:
                found.append((script, next(o for o in action.option_strings if o.startswith("--"))))
    return found


def test_the_boolean_flags_are_found():
    flags = set(boolean_flags())
    assert {("alfred.launch_schedule", "--use_pbar"), ("alfred.clean_interrupted", "--clean_crashes"),
            ("alfred.launch_schedule", "--check_hash"), ("alfred.prepare_schedule", "--resample"),
            ("alfred.benchmark", "--re_run_if_exists"), ("alfred.clean_interrupted", "--ask_for_validation"),
            ("alfred.create_retrainbest", "--lower_is_better")} <= flags


@pytest.mark.parametrize("script, option", boolean_flags())
def test_a_boolean_flag_takes_both_forms(script, option):
    parser = parsers()[script]
    action = next(a for a in parser._actions if option in a.option_strings)
    required = [x for a in parser._actions if a.required for x in (a.option_strings[0], "x")]
    parse = lambda *words: getattr(parser.parse_args([*required, *words]), action.dest)  # noqa: E731
    assert parse(option) is True, f"{script} {option}"
    for word, value in (("True", True), ("False", False), ("yes", True), ("n", False), ("1", True), ("f", False)):
        assert parse(option, word) is value, f"{script} {option} {word}"
    with pytest.raises(SystemExit):
        parse(option, "perhaps")


# List files -------------------------------------------------------------------------------------

def test_list_file_named_after_the_schedules_folder_or_the_schedule(project):
    (project.schedules / "lrSweep").mkdir()
    in_folder = project.write_schedule("lrSweep/grid_schedule_first.py", grid_schedule({"lr": [0.1]}))
    assert project.prepare(in_folder, "--desc", "a") == 0
    assert (project.schedules / "lrSweep" / "list_searches_lrSweep.txt").is_file()
    direct = project.write_schedule("grid_schedule_direct.py", grid_schedule({"lr": [0.2]}))
    assert project.prepare(direct, "--desc", "b") == 0
    assert (project.schedules / "list_searches_direct.txt").is_file()
    assert sorted(p.name for p in project.schedules.rglob("list_*.txt")) == ["list_searches_direct.txt",
                                                                             "list_searches_lrSweep.txt"]


# Results defaults ---------------------------------------------------------------------------------

def fake_search(root: Path, name: str, tape: dict, *, defaults: dict | None = None, results: dict | None = None,
                seeds: int = 2) -> Path:
    """A grid storage dir whose seeds are COMPLETED with the recorder ``tape`` (value + seed)."""
    storage = StorageDir(root / name)
    storage.path.mkdir(parents=True)
    info = {"kind": "grid", **({"defaults": defaults} if defaults else {}), **({"results": results} if results else {})}
    storage.prepare_info.write_text(json.dumps(info))
    storage.kind_flag("grid").touch()
    for seed in range(1, seeds + 1):
        seed_dir = storage.experiment_dir(1) / f"seed{seed}"
        (seed_dir / "recorders").mkdir(parents=True)
        (seed_dir / COMPLETED).touch()
        (seed_dir / "config_unique.json").write_text(json.dumps({"alg_name": "a", "task_name": "t", "seed": seed}))
        with open(seed_dir / "recorders" / "train_recorder.pkl", "wb") as f:
            pickle.dump({k: [v + seed for v in values] for k, values in tape.items()}, f)
    return storage.path


TAPE_02 = {"episode": [0, 1, 2], "eval_return": [1.0, 2.0, 3.0], "avg_eval_return": [1.0, 1.5, 2.0],
           "train_loss": [3.0, 2.0, 1.0]}


def test_results_defaults_of_02_when_recorded(tmp_path):
    s = resolve_settings(fake_search(tmp_path, "Ab1_nogit_a_t_grid_x", TAPE_02))
    assert (s.x_metric, s.y_metric, s.perf_metric, s.performance_aggregation, s.y_error_bars) == (
        "episode", "eval_return", "avg_eval_return", "last", "bootstrapped_CI")
    s = resolve_settings(fake_search(tmp_path, "Ab2_nogit_a_t_grid_y", TAPE_02), {"y_metric": "train_loss"})
    assert (s.y_metric, s.perf_metric) == ("train_loss", "train_loss")  # a y flag: performance follows it
    s = resolve_settings(fake_search(tmp_path, "Ab3_nogit_a_t_grid_z", {"step": [0, 1], "score": [1.0, 2.0]}))
    assert (s.x_metric, s.y_metric, s.perf_metric) == ("step", "score", "score")  # not recorded: today's rules


def test_results_defaults_set_by_the_project(tmp_path, monkeypatch):
    tape = {"t": [0, 1], "ret": [1.0, 2.0], "avg_ret": [1.0, 1.5], "loss": [2.0, 1.0]}
    recorded = {"x_metric": "t", "y_metric": "ret", "performance_metric": "avg_ret", "plot_arrays": []}
    s = resolve_settings(fake_search(tmp_path, "Ab1_nogit_a_t_grid_x", tape, defaults=recorded))
    assert (s.x_metric, s.y_metric, s.perf_metric) == ("t", "ret", "avg_ret")
    bare = fake_search(tmp_path, "Ab2_nogit_a_t_grid_y", tape)
    with pytest.raises(AlfredError, match="no y_metric.*--y_metric.*recorded metrics: t, ret, avg_ret, loss"):
        resolve_settings(bare)
    monkeypatch.setattr(alfred.defaults, "DEFAULT_BENCHMARK_Y_METRIC", "loss")  # set in this process: read now
    monkeypatch.setattr(alfred.defaults, "DEFAULT_BENCHMARK_X_METRIC", "t")
    s = resolve_settings(bare)
    assert (s.x_metric, s.y_metric) == ("t", "loss")
    s = resolve_settings(fake_search(tmp_path, "Ab3_nogit_a_t_grid_z", tape, results={"y_metric": "avg_ret"}))
    assert s.y_metric == "avg_ret"  # RESULTS over every default


def test_prepare_records_the_projects_defaults(project):
    project.write_schedule("grid_schedule_d.py", grid_schedule({"lr": [0.1]}, extra=textwrap.dedent("""
        import alfred.defaults
        alfred.defaults.DEFAULT_BENCHMARK_Y_METRIC = "score"
        alfred.defaults.DEFAULT_PLOTS_ARRAYS_TO_MAKE = [("step", "score", (0, 5), None)]
        """)))
    assert project.prepare(project.schedules / "grid_schedule_d.py") == 0
    (storage,) = project.storage_dirs()
    info = json.loads(StorageDir(storage).prepare_info.read_text())
    assert info["defaults"]["y_metric"] == "score"
    assert info["defaults"]["plot_arrays"] == [["step", "score", [0, 5], None]]


# The same results flags in every results script ---------------------------------------------------

@pytest.mark.parametrize("script", RESULTS_SCRIPTS)
def test_results_scripts_take_the_results_flags(script):
    assert set(RESULTS_FLAGS) <= options(parsers()[script])


def test_storage_name_and_storage_names_go_together():
    for script, parser in parsers().items():
        opts = options(parser)
        assert ("--storage_name" in opts) == ("--storage_names" in opts), script


def test_error_advice_names_only_flags_the_script_takes(tmp_path, capsys):
    tape = {"a": [1.0, 2.0], "b": [1.0, 2.0], "c": [0.0, 1.0]}  # nothing resolves a y metric
    storage = fake_search(tmp_path, "Ab1_nogit_a_t_grid_x", tape)
    for script in ("alfred.benchmark", "alfred.make_plot_arrays", "alfred.create_retrainbest"):
        module = importlib.import_module(script)
        code = module.main(["--storage_name", storage.name, "--root_dir", str(tmp_path), "--yes"]
                           if script.endswith("retrainbest") else ["--storage_names", storage.name, "--root_dir",
                                                                    str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 2 and "no y_metric" in err, (script, err)
        named = set(re.findall(r"--[a-z_]+", err))
        assert named and named <= options(module.build_parser()), (script, named)


# A launch whose automatic summary failed ------------------------------------------------------------

MAIN_MANY_METRICS = '''
from alfred.utils import Recorder

def get_run_args(overwritten_cmd_line=None):
    import argparse
    p = argparse.ArgumentParser()
    for name, default in (("alg_name", "a"), ("task_name", "t"), ("desc", "")):
        p.add_argument("--" + name, default=default)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.1)
    return p.parse_args(overwritten_cmd_line.split() if overwritten_cmd_line is not None else None)

def main(config, dir_tree, logger, pbar):
    r = Recorder(["it", "alpha", "beta"])
    r.write_to_tape({"it": 0, "alpha": config.lr, "beta": 1.0})
    r.save(dir_tree.recorders_dir / "train_recorder.pkl")
'''


def test_a_launch_whose_summary_failed_exits_1_and_says_so_last(project):
    (project.path / "main.py").write_text(MAIN_MANY_METRICS)
    project.prepare(project.write_schedule("grid_schedule_s.py", grid_schedule({"lr": [0.1, 0.2]})))
    out = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_s.txt")
    last = out.stdout.strip().splitlines()[-1]
    assert out.returncode == 1, out.stdout + out.stderr
    assert "automatic summary FAILED" in last and "--re_run_if_exists" in last
    assert all(t.seed_dir.joinpath(COMPLETED).exists() for t in seed_trees(project.storage_dirs()[0]))
    again = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_s.txt")
    assert again.returncode == 1 and again.stdout.strip().splitlines()[-1] == last  # nothing ran: still failed
    # the advice of the last line, with the metric named, writes the summary
    advice = last[last.index("python -m "):last.index(" (with")].split()[2:]
    out = project.run_module(*advice, "--y_metric", "alpha", "--x_metric", "it")
    assert out.returncode == 0, out.stdout + out.stderr
    assert StorageDir(project.storage_dirs()[0]).summary_files.json.is_file()
    # a launch told the metrics summarises at once
    project.prepare(project.write_schedule("grid_schedule_t.py", grid_schedule({"lr": [0.3]})))
    out = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_t.txt",
                             "--y_metric", "beta", "--performance_metric", "alpha")
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads(StorageDir(project.storage_dirs()[1]).summary_files.json.read_text())
    assert (summary["settings"]["y_metric"], summary["settings"]["performance_metric"]) == ("beta", "alpha")


# Retrains keep every tracked repo --------------------------------------------------------------------

def git_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=T", "-c", "user.email=t@t", "commit", "-qm", "c"]):
        if args[0] == "add":
            (path / "f.txt").write_text(path.name)
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    return path


def test_retrains_keep_the_hashes_of_repos_main_registers(project, tmp_path):
    lib_a, lib_b = git_repo(tmp_path / "lib_a"), git_repo(tmp_path / "lib_b")
    main = (project.path / "main.py").read_text()
    (project.path / "main.py").write_text(
        "from alfred.utils.directory_tree import DirectoryTree\n"
        f"DirectoryTree.git_repos_to_track['lib_a'] = {str(lib_a)!r}\n"
        f"DirectoryTree.git_repos_to_track['lib_b'] = {str(lib_b)!r}\n" + main)
    project.prepare(project.write_schedule("grid_schedule_h.py", grid_schedule({"lr": [0.1, 0.2]})))
    (search,) = project.storage_dirs()
    hashes = search.name.split("_")[1]
    assert hashes.count("-") == 1
    assert project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_h.txt").returncode == 0
    out = project.run_module("alfred.create_retrainbest", "--from_file", "schedules/list_searches_h.txt",
                             "--n_retrain_seeds", "2", "--yes", "True")
    assert out.returncode == 0, out.stdout + out.stderr
    retrain = next(d for d in project.storage_dirs() if "retrainBest" in d.name)
    assert retrain.name.split("_")[1] == hashes
    info = json.loads(StorageDir(retrain).prepare_info.read_text())
    assert set(info["git"]) == {"lib_a", "lib_b"}
    assert info["results"]["y_metric"] == "score"  # the settings the search's summary used


# Python entry points ------------------------------------------------------------------------------------

@pytest.mark.parametrize("script, name", sorted(ENTRY_POINTS.items()))
def test_entry_points_exist_and_reject_unknown_keywords(script, name):
    entry = getattr(importlib.import_module(script), name)
    with pytest.raises(TypeError, match="not_a_flag"):
        entry(not_a_flag=1)


def test_entry_points_run_a_search(project):
    from alfred.clean_interrupted import clean_interrupted
    from alfred.copy_config import copy_configs
    from alfred.create_retrainbest import create_retrain_best
    from alfred.launch_schedule import launch_schedule
    from alfred.make_plot_arrays import create_plot_arrays
    from alfred.prepare_schedule import prepare_schedule
    from alfred.sync_wandb import sync_wandb

    schedule = project.write_schedule("grid_schedule_ep.py", grid_schedule({"lr": [0.1, 0.2]}))
    assert prepare_schedule(schedule_file=str(schedule), desc="ep", ask_for_validation=False, logger=None) == 0
    list_file = "schedules/list_searches_ep.txt"
    assert launch_schedule(from_file=list_file, n_processes=1, use_pbar=False, log_level="WARNING") == 0
    assert clean_interrupted(from_file=list_file, clean_crashes=True, ask_for_validation=False) == 0
    assert create_plot_arrays(from_file=list_file, y_metric=["score"], x_metric=["step"]) == 0
    assert create_retrain_best(from_file=list_file, n_retrain_seeds=2, ask_for_validation=False) == 0
    (search,) = [d for d in project.storage_dirs() if "retrainBest" not in d.name]
    assert copy_configs(storage_name=search.name, new_task="other", yes=True) == 0
    assert sync_wandb(from_file=list_file, dry_run=True) == 0
    with pytest.raises(AlfredError):
        launch_schedule(from_file="schedules/list_searches_missing.txt")
    assert len(project.storage_dirs()) == 3
    assert StorageDir(search).plot_array("step", "score").with_suffix(".png").is_file()


# main.py run by hand ---------------------------------------------------------------------------------------

HAND_MAIN = '''
import argparse, sys, time
from alfred.utils.misc import create_management_objects
from alfred.utils.recorder import Recorder

def get_run_args(overwritten_cmd_line=None):
    p = argparse.ArgumentParser()
    p.add_argument("--alg_name", default="a")
    p.add_argument("--task_name", default="t")
    p.add_argument("--desc", default="")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max_episodes", type=int, default=3)
    p.add_argument("--fail", default="")
    p.add_argument("--root_dir", default=None)
    return p.parse_args(overwritten_cmd_line.split() if overwritten_cmd_line is not None else None)

def main(config, dir_tree=None, pbar="default_pbar", logger=None):
    dir_tree, logger, pbar = create_management_objects(dir_tree=dir_tree, logger=logger, pbar=pbar, config=config)
    r = Recorder(["episode", "eval_return"])
    for e in range(config.max_episodes):
        r.write_to_tape({"episode": e, "eval_return": float(e * config.seed)})
        pbar.update(1)
    r.save(dir_tree.recorders_dir / "train_recorder.pkl")
    logger.info("saved in %s", dir_tree.seed_dir)
    if config.fail == "raise":
        raise RuntimeError("boom by hand")
    if config.fail == "interrupt":
        raise KeyboardInterrupt

if __name__ == "__main__":
    main(get_run_args())
'''


def test_main_py_run_by_hand_makes_a_storage_dir_a_summary_reads(project):
    (project.path / "main.py").write_text(HAND_MAIN)
    run = lambda *args: subprocess.run([sys.executable, "main.py", *args], cwd=project.path, env=project.env(),  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    out = run("--alg_name", "ppo", "--task_name", "cart_pole", "--desc", "first_try", "--seed", "2")
    assert out.returncode == 0, out.stderr
    (storage,) = project.storage_dirs()
    assert storage.name.endswith("_nogit_ppo_cart-pole_first_try")
    (tree,) = seed_trees(storage)
    assert tree.seed == 2 and tree.flag_path(COMPLETED).is_file() and "saved in" in tree.log_path.read_text()
    assert json.loads(tree.config_path.read_text())["task_name"] == "cart_pole"
    assert StorageDir(storage).kind() == "grid"
    from alfred.benchmark import main as benchmark

    assert benchmark(["--storage_names", storage.name]) == 0
    summary = json.loads(StorageDir(storage).summary_files.json.read_text())
    assert summary["settings"]["y_metric"] == "eval_return" and summary["best_score"] == 4.0
    # a second run gets the next id; a crash and a Ctrl-C are recorded as a worker would
    assert run("--seed", "3", "--fail", "raise").returncode == 1
    assert run("--seed", "4", "--fail", "interrupt", "--root_dir", "other_root").returncode != 0
    crashed = next(d for d in project.storage_dirs() if d != storage)
    assert "boom by hand" in seed_trees(crashed)[0].flag_path(CRASH).read_text()
    (released,) = list_storage_dirs(project.path / "other_root")
    assert seed_trees(released)[0].flag_path(UNHATCHED).exists()
    assert not any(t.flag_path(OPENED).exists() for d in (storage, crashed, released) for t in seed_trees(d))


# main is called by keyword ------------------------------------------------------------------------------------

KEYWORD_MAIN = '''
import argparse, json, logging
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import create_management_objects

def get_run_args(overwritten_cmd_line=None):
    p = argparse.ArgumentParser()
    for name, default in (("alg_name", "a"), ("task_name", "t"), ("desc", "")):
        p.add_argument("--" + name, default=default)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.1)
    return p.parse_args(overwritten_cmd_line.split() if overwritten_cmd_line is not None else None)

def main(config, dir_tree=None, pbar="default_pbar", logger=None):
    got = {"dir_tree": type(dir_tree).__name__, "logger": isinstance(logger, logging.Logger),
           "pbar": type(pbar).__name__}
    dir_tree, logger, pbar = create_management_objects(dir_tree=dir_tree, logger=logger, pbar=pbar, config=config)
    (dir_tree.seed_dir / "received.json").write_text(json.dumps(got))
'''


@pytest.mark.parametrize("use_pbar", [False, True])
def test_main_is_called_by_keyword(project, use_pbar):
    (project.path / "main.py").write_text(KEYWORD_MAIN)
    project.prepare(project.write_schedule("grid_schedule_kw.py", grid_schedule({"lr": [0.1]})))
    out = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_kw.txt",
                             "--use_pbar", str(use_pbar), "--no_summary")
    (tree, *_) = seed_trees(project.storage_dirs()[0])
    assert out.returncode == 0, (tree.flag_path(CRASH).read_text() if tree.flag_path(CRASH).exists() else out.stderr)
    received = json.loads((tree.seed_dir / "received.json").read_text())
    assert received == {"dir_tree": "DirectoryTree", "logger": True, "pbar": "tqdm" if use_pbar else "NoneType"}
