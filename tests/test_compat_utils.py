"""Every name of COMPAT.md (the 0.2 API and the later 0.x additions), called in each of its listed
call forms, with what callers rely on. The plots and stats names get a call each here; their
behaviour is tested in depth by tests/test_plots_legacy.py and tests/test_stats.py.

Real files, real git repos and real loggers in tmp_path; nothing is mocked but the clock of
TrainingIterator.
"""
from __future__ import annotations

import argparse
import io
import logging
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

import alfred.defaults
from alfred.utils import config as cfg
from alfred.utils import directory_tree as dt
from alfred.utils import misc, recorder
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import AlfredError


@pytest.fixture(autouse=True)
def _outside_any_git_repo(tmp_path, monkeypatch):
    """Run from tmp_path: from the repository, the current folder would be tracked by default."""
    monkeypatch.chdir(tmp_path)


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    run = dict(cwd=path, check=True, capture_output=True)
    subprocess.run(["git", "init", "-q"], **run)
    (path / "f").write_text(path.name)
    subprocess.run(["git", "add", "f"], **run)
    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@t", "commit", "-qm", "c"], **run)
    return path


def head(path: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=path, capture_output=True, text=True,
                          check=True).stdout.strip()


# alfred.utils.config --------------------------------------------------------------------------

@pytest.mark.parametrize("word, value", [(w, True) for w in ("yes", "TRUE", "t", "Y", "1")]
                         + [(w, False) for w in ("no", "False", "F", "n", "0")])
def test_parse_bool_words(word, value):
    assert cfg.parse_bool(word) is value
    assert cfg.parse_bool(bool_arg=word) is value


def test_parse_bool_raises_a_value_error_that_argparse_reports():
    with pytest.raises(ValueError):
        cfg.parse_bool("maybe")
    with pytest.raises(argparse.ArgumentTypeError):
        cfg.parse_bool("maybe")
    parser = argparse.ArgumentParser()
    parser.add_argument("--flag", type=cfg.parse_bool, default=True)
    assert parser.parse_args(["--flag", "no"]).flag is False
    with pytest.raises(SystemExit):
        parser.parse_args(["--flag", "maybe"])


def test_parse_log_level():
    assert cfg.parse_log_level("info") == logging.INFO
    assert cfg.parse_log_level(level_arg="DEBUG") == logging.DEBUG
    assert cfg.parse_log_level(logging.WARNING) == logging.WARNING  # an argparse default given as a number
    with pytest.raises(ValueError):
        cfg.parse_log_level("loud")


def test_json_round_trips(tmp_path):
    cfg.save_dict_to_json({"a": 1, "b": [1, 2]}, str(tmp_path / "d.json"))
    cfg.save_dict_to_json(dictionary={"c": None}, filename=tmp_path / "e.json")
    assert cfg.load_dict_from_json(str(tmp_path / "d.json")) == {"a": 1, "b": [1, 2]}
    assert cfg.load_dict_from_json(filename=tmp_path / "e.json") == {"c": None}
    config = argparse.Namespace(lr=0.1, alg_name="ppo")
    cfg.save_config_to_json(config, str(tmp_path / "config.json"))
    cfg.save_config_to_json(config=config, filename=tmp_path / "config2.json")
    assert cfg.load_dict_from_json(tmp_path / "config.json") == vars(config)  # writes vars(config)
    loaded = cfg.load_config_from_json(str(tmp_path / "config2.json"))
    assert isinstance(loaded, argparse.Namespace) and loaded.lr == 0.1 and loaded.alg_name == "ppo"
    assert cfg.load_config_from_json(filename=tmp_path / "config.json") == config


def test_config_to_str_is_the_02_format():
    text = cfg.config_to_str(argparse.Namespace(lr=0.1, alg_name="ppo", tags=[1, 2]))
    assert text == "Configs\n    lr: 0.1\n    alg_name: ppo\n    tags: [1, 2]"
    assert cfg.format_config(argparse.Namespace(b=1, a="x")) == "a : 'x'\nb : 1"  # today's, aligned and sorted


@pytest.mark.parametrize("text, value", [("0.5", 0.5), ("-1.5", -1.5), ("3", 3), ("-2", -2), ("none", None),
                                         ("None", None), ("true", True), ("No", False), ("adam", "adam"),
                                         ("1e-3", 0.001), ("a.b", "a.b")])
def test_convert_to_type_from_str(text, value):
    got = cfg.convert_to_type_from_str(text)
    assert got == value and type(got) is type(value)


def test_validate_config_unique():
    config = argparse.Namespace(lr=0.1, seed=1, width=8)
    cfg.validate_config_unique(config, {"lr": 0.1, "seed": 1})
    cfg.validate_config_unique(config=vars(config), config_unique={"width": 8})
    with pytest.raises(Exception, match="lr"):
        cfg.validate_config_unique(config, {"lr": 0.2})
    with pytest.raises(Exception, match="momentum"):
        cfg.validate_config_unique(config, {"momentum": 0.9})


# alfred.utils.directory_tree ------------------------------------------------------------------

PATH_ATTRIBUTES = ("root", "storage_dir", "summary_dir", "experiment_dir", "seed_dir", "recorders_dir",
                   "incrementals_dir")


def test_directory_tree_02_constructor_builds_a_new_storage_dir(tmp_path):
    tree = DirectoryTree("ppo", "cart_pole", "my_desc", 3, root=tmp_path)  # no id: the next free one, reserved
    assert all(isinstance(getattr(tree, a), Path) for a in PATH_ATTRIBUTES)
    assert tree.root == tmp_path and tree.storage_dir.parent == tmp_path and tree.storage_dir.is_dir()
    storage_id, hashes, alg, task, desc = DirectoryTree.extract_info_from_storage_name(tree.storage_dir.name)
    assert (hashes, alg, task, desc) == ("nogit", "ppo", "cart-pole", "my_desc")  # '_' separates the fields
    assert tree.experiment_dir.name == "experiment1" and tree.seed_dir.name == "seed3"
    assert (tree.id, tree.alg_name, tree.desc) == (storage_id, "ppo", "my_desc")
    assert not tree.seed_dir.exists()
    tree.create_directories()
    assert tree.seed_dir.is_dir() and tree.recorders_dir.is_dir() and tree.incrementals_dir.is_dir()
    assert tree.summary_dir == tree.storage_dir / "summary"
    # the next tree without id gets another id; with the id, the next free experiment of that storage dir
    other = DirectoryTree(alg_name="ppo", task_name="cart_pole", desc="my_desc", seed=3, root=tmp_path)
    assert other.storage_dir != tree.storage_dir
    same = DirectoryTree("ppo", "cart_pole", "my_desc", 1, None, "nogit", storage_id, tmp_path)  # 0.2 positional
    assert same.storage_dir == tree.storage_dir and same.experiment_dir.name == "experiment2"
    fixed = DirectoryTree("ppo", "cart_pole", "my_desc", 1, experiment_num=7, git_hashes="nogit", id=storage_id,
                          root=tmp_path)
    assert fixed.seed_dir == tree.storage_dir / "experiment7" / "seed1"


def test_directory_tree_later_form_takes_root_fifth(tmp_path):
    tree = DirectoryTree("a", "b", "c", 2, str(tmp_path), 4, "abc1234", "Zz9")
    assert tree.seed_dir == tmp_path / "Zz9_abc1234_a_b_c" / "experiment4" / "seed2"
    tree = DirectoryTree("a", "b", "c", 2, tmp_path, experiment_num=1, id="Zz9", git_hashes="h")
    assert tree.seed_dir == tmp_path / "Zz9_h_a_b_c" / "experiment1" / "seed2"
    tree = DirectoryTree("a", "b", "c", "2", "5", "h", "Zz9", tmp_path)  # 0.2, numbers as digits
    assert tree.seed_dir == tmp_path / "Zz9_h_a_b_c" / "experiment5" / "seed2"
    with pytest.raises(TypeError):
        DirectoryTree("a", "b", "c", 2, tmp_path, root=tmp_path)


def test_directory_tree_of_an_existing_seed_folder(tmp_path):
    seed_dir = tmp_path / "Ab1_nogit_a_b_grid_x" / "experiment3" / "seed7"
    for tree in (DirectoryTree(seed_dir), DirectoryTree(str(seed_dir)),
                 DirectoryTree.init_from_seed_path(seed_dir, root=tmp_path),
                 DirectoryTree.init_from_seed_path(seed_dir, tmp_path),
                 DirectoryTree.init_from_branching_info(tmp_path, "Ab1_nogit_a_b_grid_x", 3, 7)):
        assert isinstance(tree, DirectoryTree)
        assert tree.seed_dir == seed_dir and tree.experiment_dir == seed_dir.parent and tree.root == tmp_path
    assert DirectoryTree(seed_dir).get_run_name() == "Ab1_nogit_a_b_grid_x_experiment3_seed7"
    assert "/" not in DirectoryTree(seed_dir).get_run_name()


def test_extract_info_from_storage_name_keeps_underscores_of_desc():
    assert DirectoryTree.extract_info_from_storage_name("Ju3_1a2b-3c4_ppo_cartpole_grid_lr_sweep") == (
        "Ju3", "1a2b-3c4", "ppo", "cartpole", "grid_lr_sweep")


def test_default_root_and_repos_are_views_of_alfred_defaults(tmp_path):
    DirectoryTree.default_root = str(tmp_path / "a")
    assert alfred.defaults.DEFAULT_DIRECTORY_TREE_ROOT == str(tmp_path / "a")
    alfred.defaults.DEFAULT_DIRECTORY_TREE_ROOT = str(tmp_path / "b")  # assigned after alfred was imported
    assert DirectoryTree.default_root == str(tmp_path / "b") and dt.get_root() == tmp_path / "b"
    assert DirectoryTree(tmp_path / "s" / "experiment1" / "seed1").default_root == str(tmp_path / "b")
    assert dt.get_root(tmp_path / "c") == tmp_path / "c"
    DirectoryTree.git_repos_to_track["x"] = "/x"
    assert alfred.defaults.DEFAULT_DIRECTORY_TREE_GIT_REPOS_TO_TRACK["x"] == "/x"
    alfred.defaults.DEFAULT_DIRECTORY_TREE_GIT_REPOS_TO_TRACK = {"y": "/y"}
    assert DirectoryTree.git_repos_to_track == {"y": "/y"}
    DirectoryTree.git_repos_to_track = {}
    assert alfred.defaults.DEFAULT_DIRECTORY_TREE_GIT_REPOS_TO_TRACK == {}


def test_get_git_hashes_joins_the_tracked_repos(tmp_path):
    one, two = git_repo(tmp_path / "one"), git_repo(tmp_path / "two")
    DirectoryTree.git_repos_to_track = {"one": str(one), "two": str(two)}
    assert DirectoryTree.get_git_hashes() == f"{head(one)}-{head(two)}"
    assert dt.get_git_hash(one) == head(one) and dt.get_git_hash(path=str(two)) == head(two)
    assert dt.get_git_hash(tmp_path) == "nogit"
    tree = DirectoryTree("a", "b", "c", 1, root=tmp_path / "root")
    assert tree.git_hashes == f"{head(one)}-{head(two)}"
    assert isinstance(dt.get_git_name(), str) and dt.get_git_name()


def make_storage(root: Path, name: str, layout: dict[int, list[int]], flag: str = "UNHATCHED") -> Path:
    storage = root / name
    for n, seeds in layout.items():
        for s in seeds:
            (storage / f"experiment{n}" / f"seed{s}").mkdir(parents=True)
            (storage / f"experiment{n}" / f"seed{s}" / flag).touch()
    return storage


def test_experiments_and_seeds_in_numeric_order(tmp_path):
    storage = make_storage(tmp_path, "Ab1_nogit_a_b_grid_x", {10: [1], 2: [10, 2]})
    (storage / "experiment2" / "seed2" / "UNHATCHED").unlink()
    (storage / "experiment2" / "seed2" / "COMPLETED").touch()
    (storage / "experimentX").mkdir()
    assert [p.name for p in DirectoryTree.get_all_experiments(storage)] == ["experiment2", "experiment10"]
    assert [p.name for p in DirectoryTree.get_all_seeds(storage / "experiment2")] == ["seed2", "seed10"]
    assert [p.relative_to(storage).as_posix() for p in dt.get_all_seeds(storage)] == [
        "experiment2/seed2", "experiment2/seed10", "experiment10/seed1"]
    assert [p.relative_to(storage).as_posix() for p in dt.get_some_seeds(storage)] == [
        "experiment2/seed10", "experiment10/seed1"]
    assert [p.name for p in dt.get_some_seeds(storage, file_check="COMPLETED")] == ["seed2"]


def test_get_storage_dirs_across_tasks(tmp_path):
    names = ["Ab1_h_ppo_cartpole_grid_x", "Ab2_h_ppo_acrobot_grid_x", "Ab3_h_ppo_walker_grid_x",
             "Ab4_h_sac_acrobot_grid_x", "Ab5_h_ppo_acrobot_grid_y"]
    for name in names:
        (tmp_path / name).mkdir()
    found = dt.get_storage_dirs_across_tasks(tmp_path / names[1], tmp_path)
    assert found[0] == tmp_path / names[1]
    assert sorted(p.name for p in found) == sorted(names[:3])


def test_sanity_check_exists(tmp_path, caplog):
    log = logging.getLogger("test_sanity")
    assert dt.sanity_check_exists(tmp_path, log) is True
    with caplog.at_level(logging.WARNING):
        assert dt.sanity_check_exists(tmp_path / "gone", master_logger=log) is False
    assert "gone" in caplog.text


# alfred.utils.misc ----------------------------------------------------------------------------

def test_create_logger_02_form_appends_to_its_file(tmp_path, capsys):
    logfile = tmp_path / "logger.out"
    logfile.write_text("before\n")
    logger = misc.create_logger("compat_a", logging.INFO, str(logfile), True)
    logger.info("one")
    assert "one" in capsys.readouterr().out
    quiet = misc.create_logger(name="compat_b", loglevel="debug", logfile=logfile, streamHandle=False)
    quiet.debug("two")
    today = misc.create_logger("compat_c", logging.INFO, logfile, stream=False)
    today.info("three")
    assert capsys.readouterr().out == ""
    for lg in (logger, quiet, today):
        misc.close_logger(lg)
    lines = logfile.read_text().splitlines()
    assert lines[0] == "before" and [line.split()[-1] for line in lines[1:]] == ["one", "two", "three"]


def test_create_new_filehandler(tmp_path):
    handler = misc.create_new_filehandler("runner", str(tmp_path / "log.txt"))
    assert isinstance(handler, logging.FileHandler) and handler.mode == "a" and handler.formatter is not None
    logger = logging.getLogger("compat_fh")
    logger.addHandler(handler)
    logger.warning("hello")
    handler.close()
    logger.removeHandler(handler)
    assert "runner" in (tmp_path / "log.txt").read_text() and "hello" in (tmp_path / "log.txt").read_text()


def test_create_management_objects_passes_alfred_objects_through(tmp_path):
    from tqdm import tqdm

    tree = DirectoryTree(tmp_path / "Ab1_nogit_a_b_grid_x" / "experiment1" / "seed1")
    tree.create_directories()
    logger = misc.create_logger("compat_cmo", logging.INFO, tree.log_path, streamHandle=False)
    config = argparse.Namespace(alg_name="a", task_name="b", seed=1, max_episodes=17)
    bar = tqdm(total=3, desc="w0", file=io.StringIO())
    got = misc.create_management_objects(tree, logger, bar, config)
    assert got[0] is tree and got[1] is logger and got[2] is bar
    assert bar.total == 17 and tree.get_run_name() in bar.desc
    made = misc.create_management_objects(dir_tree=tree, logger=logger, pbar=None, config=config)
    assert made == (tree, logger, None)
    assert misc.create_management_objects(tree, logger, config) == (tree, logger)  # later 0.x form
    assert misc.create_management_objects(dir_tree=tree, logger=logger, config=config) == (tree, logger)
    new_tree, new_logger, new_bar = misc.create_management_objects(tree, None, "default_pbar", config)
    assert isinstance(new_bar, tqdm) and new_bar.total == 17
    new_bar.close()
    new_logger.debug("x")
    assert new_logger.handlers and Path(new_logger.handlers[-1].baseFilename) == tree.log_path
    misc.close_logger(new_logger)
    misc.close_logger(logger)


def test_check_params_defined_twice():
    misc.check_params_defined_twice(["lr", "width"])
    with pytest.raises(ValueError, match="lr"):
        misc.check_params_defined_twice(keys=["lr", "width", "lr"])


def test_select_storage_dirs_both_forms(tmp_path):
    names = ["Ab1_h_ppo_cartpole_grid_x", "Ab2_h_ppo_acrobot_grid_x", "Ab3_h_sac_acrobot_grid_x"]
    for name in names:
        (tmp_path / name).mkdir()
    list_file = tmp_path / "list_searches_x.txt"
    list_file.write_text(f"{names[0]}\n{names[2]}\n")
    assert misc.select_storage_dirs(str(list_file), None, False, str(tmp_path)) == [tmp_path / names[0],
                                                                                  tmp_path / names[2]]
    assert misc.select_storage_dirs(None, names[1], tmp_path) == [tmp_path / names[1]]  # later: no over_tasks
    assert misc.select_storage_dirs(from_file=None, storage_name=names[1], root_dir=tmp_path) == [tmp_path / names[1]]
    over = misc.select_storage_dirs(None, names[0], True, tmp_path)
    assert over == [tmp_path / names[0], tmp_path / names[1]]  # the same search on every task
    with pytest.raises(AlfredError):
        misc.select_storage_dirs(None, "Ab9_h_x_y_z", False, tmp_path)


@pytest.mark.parametrize("x, expected", [(0.012345, 0.012), (1234.0, 1200.0), (-0.0678, -0.068), (0, 0),
                                         (9.99, 10.0)])
def test_two_significant_digits(x, expected):
    assert math.isclose(misc.keep_two_signif_digits(x), expected) and math.isclose(misc.round_to_two(x), expected)


def test_sorted_nicely():
    assert misc.sorted_nicely(["exp10", "exp2", "exp1", "Exp3"]) == ["exp1", "exp2", "Exp3", "exp10"]
    assert misc.sorted_nicely(l=["seed10", "seed9"]) == ["seed9", "seed10"]


@pytest.mark.parametrize("seconds, text", [(3723, "1h02m03s"), (59.6, "0h01m00s"), (0, "0h00m00s")])
def test_formatted_time_diff(seconds, text):
    assert misc.formatted_time_diff(seconds) == text


def test_uniquify(tmp_path):
    path = tmp_path / "fig.png"
    assert misc.uniquify(path) == tmp_path / "fig_1.png"
    (tmp_path / "fig_1.png").touch()
    (tmp_path / "fig_4.png").touch()
    assert misc.uniquify(newfile_path=str(path)) == str(tmp_path / "fig_5.png")


# alfred.utils.recorder ------------------------------------------------------------------------

def test_recorder_02_api(tmp_path):
    rec = recorder.Recorder(metrics_to_record=["episode", "eval_return"])
    rec.write_to_tape({"episode": 0, "eval_return": 1.5})
    rec.write_to_tape(new_values_dict={"episode": 1})
    assert rec.tape == {"episode": [0, 1], "eval_return": [1.5, None]}
    rec.save(str(tmp_path / "train_recorder.pkl"))
    with open(tmp_path / "train_recorder.pkl", "rb") as f:
        assert pickle.load(f) == {"episode": [0, 1], "eval_return": [1.5, None]}  # a plain dict of lists
    again = recorder.Recorder.init_from_pickle_file(str(tmp_path / "train_recorder.pkl"))
    assert again.tape == rec.tape
    assert recorder.remove_nones(rec.tape["eval_return"]) == [1.5]
    assert recorder.remove_nones(input_list=[None, 0, None, 2]) == [0, 2]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now


def test_training_iterator_heartbeats(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(recorder, "time", clock)
    beats = []
    for it in recorder.TrainingIterator(10, heartbeat_ite=4):
        assert it.itr == len(beats)
        beats.append(it.heartbeat)
        clock.now += 1.0
    assert [i for i, b in enumerate(beats) if b] == [0, 4, 8, 9]  # first, every 4th, last
    beats = []
    iterator = recorder.TrainingIterator(8, heartbeat_time=2.5)
    for it in iterator:
        beats.append((it.itr, it.heartbeat, it.elapsed if it.heartbeat else None))
        clock.now += 1.0
    assert [(i, e) for i, b, e in beats if b] == [(0, 0.0), (3, 3.0), (6, 3.0), (7, 1.0)]
    assert iterator.itr_message().startswith("==> Itr 8/8")
    assert list(recorder.TrainingIterator(0)) == []
    assert [it.heartbeat for it in recorder.TrainingIterator(3, 2, math.inf)] == [True, False, True]  # positional


def test_training_iterator_values_and_touch(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(recorder, "time", clock)
    it = recorder.TrainingIterator(max_itr=5, heartbeat_ite=100, heartbeat_time=10.0)
    it.record("loss", 1.0)
    it.update({"loss": 3.0, "acc": 0.5})
    assert it.pop_mean("loss") == 2.0 and it.pop("loss") == []
    assert it.pop_all_means() == {"acc": 0.5} and math.isnan(it.pop_mean("acc"))

    def beats(touch_at: int | None) -> list[bool]:
        out = []
        for step in recorder.TrainingIterator(max_itr=5, heartbeat_ite=100, heartbeat_time=10.0):
            out.append(step.heartbeat)
            clock.now += 6.0
            if step.itr == touch_at:
                step.touch()  # restarts the heartbeat clock
        return out

    assert beats(None) == [True, False, True, False, True]  # 12 s after the first heartbeat
    assert beats(1) == [True, False, False, False, True]  # 6 s after the touch


# alfred.utils.stats and alfred.utils.plots (each name once; tested in depth elsewhere) ---------

def test_stats_and_plots_02_names_in_their_call_forms():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from alfred.utils.plots import (
        bar_chart,
        create_fig,
        plot_curves,
        plot_sampled_hyperparams,
        plot_vertical_densities,
        smooth_out,
    )
    from alfred.utils.stats import get_95_confidence_interval, get_95_confidence_interval_of_sequence

    mean, up, down = get_95_confidence_interval(np.array([1.0, 2.0, 3.0, 4.0]), "stderr")
    assert mean == 2.5 and up > 0 and down > 0
    mean, up, down = get_95_confidence_interval_of_sequence(list(np.ones((5, 4))), method="bootstrapped_CI")
    assert np.allclose(mean, 1.0) and np.allclose(up, 0.0)
    fig, axes = create_fig((1, 3))
    assert len(axes) == 3 and fig.get_size_inches().tolist() == [24.0, 5.0]
    plot_curves(axes[0], [np.arange(3.0)], xs=[np.arange(3)], fill_up=[np.ones(3)], fill_down=[np.ones(3)],
                labels=["a"], smooth=True)
    bar_chart(axes[1], {"s": {"g1": 1.0, "g2": 2.0}}, err_up={"s": {"g1": 0.1, "g2": 0.1}})
    plot_vertical_densities(axes[2], [np.arange(5.0), np.arange(3.0)], labels=["a", "b"], make_boxplot=True)
    fig2, axes2 = create_fig((2, 1), figsize=(4, 4))
    plot_sampled_hyperparams(axes2, {"lr": [0.1, 0.01], "width": [8, 16]}, log_params=["lr"])
    assert smooth_out([1.0, 1.0, 1.0], smooth_factor=0.5) == [1.0, 1.0, 1.0]
    plt.close("all")


# alfred.defaults -------------------------------------------------------------------------------

def test_defaults_names_and_values():
    assert alfred.defaults.DEFAULT_DIRECTORY_TREE_ROOT == "./storage"
    assert alfred.defaults.DEFAULT_BENCHMARK_X_METRIC == "episode"
    assert alfred.defaults.DEFAULT_BENCHMARK_Y_METRIC == "eval_return"
    assert alfred.defaults.DEFAULT_BENCHMARK_PERFORMANCE_METRIC == "avg_eval_return"
    assert isinstance(alfred.defaults.DEFAULT_DIRECTORY_TREE_GIT_REPOS_TO_TRACK, dict)
    assert all(len(p) == 4 for p in alfred.defaults.DEFAULT_PLOTS_ARRAYS_TO_MAKE)


def test_importing_the_02_names_stays_cheap():
    code = ("import sys\nfrom alfred.utils import *\nfrom alfred.utils.misc import create_management_objects, "
            "select_storage_dirs, create_new_filehandler\nfrom alfred.utils.recorder import TrainingIterator\n"
            "from alfred.utils.directory_tree import get_some_seeds\nimport alfred.defaults\n"
            "print(sorted({'numpy', 'pandas', 'matplotlib', 'seaborn', 'wandb', 'tqdm'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"
