"""prepare_schedule: what it creates, for grid and random searches, and how it asks first."""
from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import experiment_paths, grid_schedule, seed_paths, snapshot

from alfred.prepare_schedule import main as prepare_main
from alfred.protocol.layout import GRID_SEARCH, RANDOM_SEARCH, UNHATCHED, StorageDir
from alfred.protocol.listing import list_storage_dirs
from alfred.protocol.storage_names import StorageName
from alfred.utils.selection import read_list_file

FLAGS = {"UNHATCHED", "OPENED", "COMPLETED", "CRASH.txt"}


def random_schedule(n: int = 5, *, algs=("algA",), tasks=("taskA",), seeds=(1,)) -> str:
    return textwrap.dedent(f"""
        import random
        from main import get_run_args
        ALG_NAMES = {list(algs)!r}
        TASK_NAMES = {list(tasks)!r}
        SEEDS = {list(seeds)!r}
        N_EXPERIMENTS = {n}

        def sample_experiment():
            return {{"lr": 10 ** random.uniform(-4, -1), "width": random.choice([16, 32, 64])}}
        """)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())




def unique_params(seed_dir: Path) -> dict:
    unique = read_json(seed_dir / "config_unique.json")
    return {k: v for k, v in unique.items() if k not in ("alg_name", "task_name", "seed")}


def experiment_params(storage_dir: Path) -> list[dict]:
    return [unique_params(seed_paths(e)[0]) for e in experiment_paths(storage_dir)]


# -------------------------------------------------------------------------------- grid

def test_grid_creates_the_right_counts(project):
    variations = {"lr": [0.1, 0.2], "width": [1, 2, 3]}
    schedule = project.write_schedule(
        "grid_schedule_count.py",
        grid_schedule(variations, algs=("algA", "algB"), tasks=("t1", "t2", "t3"), seeds=(1, 2, 3)))
    assert project.prepare(schedule) == 0

    storage_dirs = project.storage_dirs()
    assert len(storage_dirs) == 2 * 3
    pairs = {(read_json(d / "prepare_info.json")["alg_name"], read_json(d / "prepare_info.json")["task_name"])
             for d in storage_dirs}
    assert pairs == {(a, t) for a in ("algA", "algB") for t in ("t1", "t2", "t3")}
    for storage_dir in storage_dirs:
        experiment_dirs = experiment_paths(storage_dir)
        assert [e.name for e in experiment_dirs] == [f"experiment{n}" for n in range(1, 7)]
        for experiment_dir in experiment_dirs:
            seed_dirs = seed_paths(experiment_dir)
            assert [s.name for s in seed_dirs] == ["seed1", "seed2", "seed3"]
            for seed_dir in seed_dirs:
                assert set(p.name for p in seed_dir.iterdir()) & FLAGS == {UNHATCHED}
    # no temporary folder left behind
    assert not [p for p in (project.path / "storage").iterdir() if p.name.startswith(".tmp")]


def test_grid_config_contents(project):
    schedule = project.write_schedule(
        "grid_schedule_cfg.py", grid_schedule({"lr": [0.1, 0.2], "width": [4, 8]}, seeds=(1, 2)))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    name = StorageName.parse(storage_dir.name)
    assert (name.alg_name, name.task_name, name.desc) == ("algA", "taskA", "grid_cfg")

    expected = [{"lr": 0.1, "width": 4}, {"lr": 0.1, "width": 8}, {"lr": 0.2, "width": 4}, {"lr": 0.2, "width": 8}]
    assert experiment_params(storage_dir) == expected
    for experiment_dir, params in zip(experiment_paths(storage_dir), expected):
        for seed in (1, 2):
            seed_dir = experiment_dir / f"seed{seed}"
            assert read_json(seed_dir / "config_unique.json") == {
                **params, "alg_name": "algA", "task_name": "taskA", "seed": seed}
            assert read_json(seed_dir / "config.json") == {
                "alg_name": "algA", "task_name": "taskA", "desc": "grid_cfg", "seed": seed,
                "lr": params["lr"], "width": params["width"], "sleep_s": 0.0, "crash": 0}


@pytest.mark.parametrize("defaults, params", [
    ({"lr": 0.1, "width": 64, "name": "x", "flag": True, "none": None}, {"lr": 1e-6, "new": "é \" \\ \n"}),
    ({"layers": [64, [32, 16]], "opt": {"kind": "adam", "betas": [0.9, 0.999]}, "nan": float("nan")},
     {"opt": {}, "empty": [], "inf": float("-inf")}),
    ({}, {}),
])
def test_config_texts_are_json_dumps_indent_2_byte_for_byte(defaults, params):
    """config.json and config_unique.json are rendered from lines encoded once per search:
    they must be exactly what json.dumps(config, indent=2) wrote, key order included."""
    from alfred.search.build import ConfigText

    texts = ConfigText(defaults)
    config, unique = texts.seed_files(texts.experiment("algA", "task_B", "grid_d", params), 7)
    want_config = {**defaults, **params, "alg_name": "algA", "task_name": "task_B", "desc": "grid_d", "seed": 7}
    want_unique = {**params, "alg_name": "algA", "task_name": "task_B", "seed": 7}
    assert config.decode() == json.dumps(want_config, indent=2) + "\n"
    assert unique.decode() == json.dumps(want_unique, indent=2) + "\n"
    assert ConfigText.render({}) == (json.dumps({}, indent=2) + "\n").encode()


def test_grid_storage_files_and_list_file(project):
    variations = {"lr": [0.1, 0.2], "width": [4]}
    schedule = project.write_schedule("grid_schedule_files.py",
                                      grid_schedule(variations, algs=("algA", "algB"), seeds=(5,)))
    assert project.prepare(schedule) == 0
    storage_dirs = project.storage_dirs()
    assert len(storage_dirs) == 2
    for storage_dir in storage_dirs:
        assert (storage_dir / GRID_SEARCH).is_file() and not (storage_dir / RANDOM_SEARCH).exists()
        assert StorageDir(storage_dir).kind() == "grid"
        assert read_json(storage_dir / "variations.json") == {  # 0.2's layout, which projects' scripts read
            "1-2": {**variations, "alg_name": ["algA", "algB"], "task_name": ["taskA"], "seed": [5]}}
        info = read_json(storage_dir / "prepare_info.json")
        assert info["kind"] == "grid" and info["seeds"] == [5] and info["desc"] == "files"
        assert Path(info["schedule_file"]) == schedule.resolve()

    list_file = project.schedules / "list_searches_files.txt"
    lines = list_file.read_text().splitlines()
    root = (project.path / "storage").resolve()
    assert lines[0] == f"# root_dir={root}"
    assert sorted(lines[1:]) == sorted(d.name for d in storage_dirs)
    assert read_list_file(list_file) == [(n, root) for n in lines[1:]]

    # a second prepare appends a block with new names; ids never repeat
    assert project.prepare(schedule) == 0
    lines = list_file.read_text().splitlines()
    assert lines.count(f"# root_dir={root}") == 2
    names = [line for line in lines if not line.startswith("#")]
    assert len(names) == 4 and len(set(names)) == 4
    assert len({StorageName.parse(n).storage_id for n in names}) == 4
    assert sorted(names) == sorted(d.name for d in project.storage_dirs())


def test_schedule_name_ending_in_py_letters(project):
    """'grid_schedule_happy.py'.strip('.py') used to give 'grid_schedule_ha'."""
    schedule = project.write_schedule("grid_schedule_happy.py", grid_schedule({"lr": [0.1]}))
    assert prepare_main(["--schedule_file", str(schedule.resolve()), "--yes"]) == 0  # absolute path
    (storage_dir,) = project.storage_dirs()
    assert storage_dir.name.endswith("_grid_happy")
    assert (project.schedules / "list_searches_happy.txt").is_file()
    assert sorted(p.name for p in project.schedules.iterdir()) == ["grid_schedule_happy.py",
                                                                   "list_searches_happy.txt"]


def test_relative_schedule_path(project):
    project.write_schedule("grid_schedule_rel.py", grid_schedule({"lr": [0.1]}))
    assert prepare_main(["--schedule_file", "schedules/grid_schedule_rel.py", "--yes"]) == 0
    assert len(project.storage_dirs()) == 1
    assert (project.schedules / "list_searches_rel.txt").is_file()


def test_any_py_name_with_variations_is_a_grid(project):
    schedule = project.write_schedule("my_search.py", grid_schedule({"width": [1, 2]}))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    assert (storage_dir / GRID_SEARCH).is_file()
    assert StorageName.parse(storage_dir.name).desc == "grid_my_search"
    assert len(experiment_paths(storage_dir)) == 2
    assert (project.schedules / "list_searches_my_search.txt").is_file()


def test_desc_option_names_the_storage_dirs(project):
    schedule = project.write_schedule("grid_schedule_x.py", grid_schedule({"lr": [0.1]}))
    assert project.prepare(schedule, "--desc", "lr_sweep") == 0
    (storage_dir,) = project.storage_dirs()
    assert StorageName.parse(storage_dir.name).desc == "grid_lr_sweep"
    assert read_json(storage_dir / "experiment1" / "seed1" / "config.json")["desc"] == "grid_lr_sweep"
    assert (project.schedules / "list_searches_x.txt").is_file()  # list named after the schedule


def test_root_dir_option(project, tmp_path):
    schedule = project.write_schedule("grid_schedule_root.py", grid_schedule({"lr": [0.1]}))
    other_root = tmp_path / "elsewhere" / "runs"
    assert project.prepare(schedule, "--root_dir", str(other_root)) == 0
    assert not (project.path / "storage").exists()
    (storage_dir,) = list_storage_dirs(other_root)
    lines = (project.schedules / "list_searches_root.txt").read_text().splitlines()
    assert lines == [f"# root_dir={other_root.resolve()}", storage_dir.name]


def test_underscore_in_names_becomes_dash_in_folder_names(project, capsys):
    schedule = project.write_schedule(
        "grid_schedule_us.py", grid_schedule({"lr": [0.1]}, algs=("ppo_lstm",), tasks=("cart_pole",)))
    assert project.prepare(schedule) == 0
    out = capsys.readouterr().out
    assert "'ppo_lstm' appears as 'ppo-lstm'" in out and "'cart_pole' appears as 'cart-pole'" in out
    (storage_dir,) = project.storage_dirs()
    name = StorageName.parse(storage_dir.name)
    assert (name.alg_name, name.task_name, name.desc) == ("ppo-lstm", "cart-pole", "grid_us")
    config = read_json(storage_dir / "experiment1" / "seed1" / "config.json")
    assert (config["alg_name"], config["task_name"]) == ("ppo_lstm", "cart_pole")
    unique = read_json(storage_dir / "experiment1" / "seed1" / "config_unique.json")
    assert (unique["alg_name"], unique["task_name"]) == ("ppo_lstm", "cart_pole")
    info = read_json(storage_dir / "prepare_info.json")
    assert (info["alg_name"], info["task_name"]) == ("ppo_lstm", "cart_pole")


# ------------------------------------------------------------------------------ random

def test_random_search_with_one_alg_task_pair(project):
    schedule = project.write_schedule("random_schedule_rs.py", random_schedule(5, seeds=(1, 2)))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    assert (storage_dir / RANDOM_SEARCH).is_file() and not (storage_dir / GRID_SEARCH).exists()
    assert not (storage_dir / "variations.json").exists()
    assert StorageName.parse(storage_dir.name).desc == "random_rs"
    experiment_dirs = experiment_paths(storage_dir)
    assert len(experiment_dirs) == 5
    for experiment_dir in experiment_dirs:
        seed_dirs = seed_paths(experiment_dir)
        assert [s.name for s in seed_dirs] == ["seed1", "seed2"]
        params = [unique_params(s) for s in seed_dirs]
        assert params[0] == params[1]  # the seeds of one experiment share its sample
        assert set(params[0]) == {"lr", "width"}
        assert 1e-4 <= params[0]["lr"] <= 1e-1 and params[0]["width"] in (16, 32, 64)
        config = read_json(seed_dirs[0] / "config.json")
        assert config["lr"] == params[0]["lr"] and config["desc"] == "random_rs"
    assert len({p["lr"] for p in experiment_params(storage_dir)}) == 5
    assert (project.schedules / "list_searches_rs.txt").read_text().splitlines()[1:] == [storage_dir.name]

    png = storage_dir / "variations1.png"  # the sampled values, drawn by plots.plot_sampled_hyperparams_figures
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_any_py_name_with_sample_experiment_is_random(project):
    schedule = project.write_schedule("my_random.py", random_schedule(3))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    assert (storage_dir / RANDOM_SEARCH).is_file()
    assert StorageName.parse(storage_dir.name).desc == "random_my_random"
    assert len(experiment_paths(storage_dir)) == 3


def test_random_search_shares_samples_across_pairs_by_default(project):
    schedule = project.write_schedule("random_schedule_shared.py",
                                      random_schedule(4, algs=("algA", "algB"), tasks=("t1",)))
    assert project.prepare(schedule) == 0
    storage_dirs = project.storage_dirs()
    assert len(storage_dirs) == 2
    samples = [experiment_params(d) for d in storage_dirs]
    assert len(samples[0]) == 4
    assert all(s == samples[0] for s in samples)


def test_random_search_resample_draws_per_pair(project):
    schedule = project.write_schedule("random_schedule_resampled.py",
                                      random_schedule(4, algs=("algA", "algB"), tasks=("t1",)))
    assert project.prepare(schedule, "--resample") == 0
    first, second = (experiment_params(d) for d in project.storage_dirs())
    assert len(first) == len(second) == 4
    assert [p["lr"] for p in first] != [p["lr"] for p in second]
    assert not {p["lr"] for p in first} & {p["lr"] for p in second}


# ------------------------------------------------------------------------ add_to_folder

def test_add_to_folder_grid_adds_only_what_is_new(project, capsys):
    schedule = project.write_schedule("grid_schedule_grow.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=(1, 2)))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    list_file = project.schedules / "list_searches_grow.txt"
    list_before = list_file.read_text()

    # the same schedule again: nothing to add
    before = snapshot(project.path)
    capsys.readouterr()
    assert project.prepare(schedule, "--add_to_folder", storage_dir.name) == 0
    assert "nothing to create" in capsys.readouterr().out
    assert snapshot(project.path) == before

    # one more seed and one more lr value
    project.write_schedule("grid_schedule_grow.py", grid_schedule({"lr": [0.1, 0.2, 0.3]}, seeds=(1, 2, 3)))
    assert project.prepare(schedule, "--add_to_folder", storage_dir.name) == 0
    assert project.storage_dirs() == [storage_dir]
    experiment_dirs = experiment_paths(storage_dir)
    assert experiment_params(storage_dir) == [{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.3}]
    for experiment_dir in experiment_dirs:
        assert [s.name for s in seed_paths(experiment_dir)] == ["seed1", "seed2", "seed3"]
    new_seed = experiment_dirs[1] / "seed3"
    assert (new_seed / UNHATCHED).is_file()
    config = read_json(new_seed / "config.json")
    assert (config["lr"], config["seed"], config["desc"]) == (0.2, 3, "grid_grow")
    assert read_json(new_seed / "config_unique.json") == {"lr": 0.2, "alg_name": "algA", "task_name": "taskA",
                                                          "seed": 3}
    assert read_json(storage_dir / "variations.json") == {  # the experiment added: a group of its own
        "1-2": {"lr": [0.1, 0.2], "alg_name": ["algA"], "task_name": ["taskA"], "seed": [1, 2]},
        "3-3": {"lr": [0.1, 0.2, 0.3], "alg_name": ["algA"], "task_name": ["taskA"], "seed": [1, 2, 3]}}
    assert list_file.read_text() == list_before  # no new storage dir to list
    assert not [p for p in storage_dir.rglob(".tmp*")]

    # run twice: the second time creates nothing
    before = snapshot(project.path)
    assert project.prepare(schedule, "--add_to_folder", storage_dir.name) == 0
    assert snapshot(project.path) == before


def test_add_to_folder_keeps_existing_seed_files(project):
    schedule = project.write_schedule("grid_schedule_keep.py", grid_schedule({"lr": [0.1]}, seeds=(1,)))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    seed1 = storage_dir / "experiment1" / "seed1"
    (seed1 / "UNHATCHED").rename(seed1 / "COMPLETED")
    (seed1 / "result.txt").write_text("done")
    project.write_schedule("grid_schedule_keep.py", grid_schedule({"lr": [0.1]}, seeds=(1, 2)))
    assert project.prepare(schedule, "--add_to_folder", str(storage_dir)) == 0  # a path works too
    assert sorted(p.name for p in seed1.iterdir()) == ["COMPLETED", "config.json", "config_unique.json",
                                                       "result.txt"]
    assert (storage_dir / "experiment1" / "seed2" / UNHATCHED).is_file()


def test_add_to_folder_random_adds_new_samples(project):
    schedule = project.write_schedule("random_schedule_more.py", random_schedule(3))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    old = experiment_params(storage_dir)
    assert project.prepare(schedule, "--add_to_folder", storage_dir.name) == 0
    params = experiment_params(storage_dir)
    assert len(params) == 6 and params[:3] == old
    assert (storage_dir / "experiment6" / "seed1" / UNHATCHED).is_file()
    assert sorted(p.name for p in storage_dir.glob("variations*.png")) == ["variations1.png", "variations2.png"]


# -------------------------------------------------------------------------- confirmation

def _ask_schedule(project) -> Path:
    return project.write_schedule("grid_schedule_ask.py", grid_schedule({"lr": [0.1, 0.2]}))


def test_yes_skips_the_question(project, monkeypatch, capsys):
    schedule = _ask_schedule(project)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # asking would read end of input and abort
    assert prepare_main(["--schedule_file", str(schedule), "--yes"]) == 0
    assert "(y/n)" not in capsys.readouterr().out
    assert len(project.storage_dirs()) == 1


def test_answer_yes_on_stdin_creates(project, monkeypatch, capsys):
    schedule = _ask_schedule(project)
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert prepare_main(["--schedule_file", str(schedule)]) == 0
    out = capsys.readouterr().out
    assert "Create them? (y/n)" in out and "created" in out
    (storage_dir,) = project.storage_dirs()
    assert len(experiment_paths(storage_dir)) == 2


def test_junk_then_yes_on_stdin_creates(project, monkeypatch, capsys):
    schedule = _ask_schedule(project)
    monkeypatch.setattr(sys, "stdin", io.StringIO("sure\nyes\n"))
    assert prepare_main(["--schedule_file", str(schedule)]) == 0
    assert "please answer y or n" in capsys.readouterr().out
    assert len(project.storage_dirs()) == 1


@pytest.mark.parametrize("answer", ["n\n", "no\n", ""], ids=["n", "no", "EOF"])
def test_answer_no_or_end_of_input_creates_nothing(project, monkeypatch, capsys, answer):
    schedule = _ask_schedule(project)
    before = snapshot(project.path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
    assert prepare_main(["--schedule_file", str(schedule)]) == 1
    assert "aborted: nothing was created" in capsys.readouterr().out
    assert snapshot(project.path) == before
    assert not (project.path / "storage").exists()


def test_piped_answers_in_a_subprocess(project):
    schedule = _ask_schedule(project)
    result = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), input="y\n" * 5)
    assert result.returncode == 0, result.stderr
    assert "Create them? (y/n) y" in result.stdout
    assert "Traceback" not in result.stderr
    (storage_dir,) = project.storage_dirs()
    assert len(experiment_paths(storage_dir)) == 2


def test_piped_no_in_a_subprocess(project):
    schedule = _ask_schedule(project)
    result = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), input="n\n")
    assert result.returncode == 1
    assert "aborted" in result.stdout
    assert not (project.path / "storage").exists()


# -------------------------------------------------------------------------- concurrency

def test_two_prepare_processes_at_once_never_share_a_folder(project):
    schedule = project.write_schedule(
        "grid_schedule_race.py",
        grid_schedule({"lr": [0.1, 0.2, 0.3]}, algs=("algA", "algB"), tasks=("t1", "t2"), seeds=(1, 2)))
    procs = [project.popen_module("alfred.prepare_schedule", "--schedule_file", str(schedule), "--yes")
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs

    storage_dirs = project.storage_dirs()
    assert len(storage_dirs) == 8
    ids = [StorageName.parse(d.name).storage_id for d in storage_dirs]
    assert len(set(ids)) == 8
    created = [line.split()[-1] for out in outputs for line in out.splitlines() if line.startswith("created ")]
    assert len(created) == 8 and len(set(created)) == 8  # each process reports only its own four
    for storage_dir in storage_dirs:
        experiment_dirs = experiment_paths(storage_dir)
        assert len(experiment_dirs) == 3
        for experiment_dir in experiment_dirs:
            seed_dirs = seed_paths(experiment_dir)
            assert [s.name for s in seed_dirs] == ["seed1", "seed2"]
            assert all((s / UNHATCHED).is_file() and (s / "config.json").is_file() for s in seed_dirs)
    names = [n for n, _ in read_list_file(project.schedules / "list_searches_race.txt")]
    assert sorted(names) == sorted(d.name for d in storage_dirs)
    assert not [p for p in (project.path / "storage").iterdir() if p.name.startswith(".tmp")]
